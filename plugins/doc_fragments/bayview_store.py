"""The documentation shared by the Bay View runbook modules that use the store."""


class ModuleDocFragment:
    """The store option (see module_utils/bayview/stores.py: argument_spec and from_params)."""

    DOCUMENTATION = r"""
options:
  store:
    description:
      - Where restore points, exports and the run records' audit copies live. Playbooks pass
        C(bayview_store), built from C(restore_point_store), C(s3_endpoint_url), C(s3_region),
        C(s3_sse) and C(s3_kms_key_id).
      - S3 credentials always come from the standard boto3 chain, never from task arguments.
    type: dict
    required: true
    suboptions:
      url:
        description: C(s3://bucket/prefix) or C(file:///absolute/path).
        type: str
        required: true
      s3_endpoint_url:
        description: Endpoint of a non-AWS S3 service (DigitalOcean Spaces, MinIO, …).
        type: str
      s3_region:
        description: Region of the bucket.
        type: str
      s3_sse:
        description: Server-side encryption of uploaded objects (reading does not use it).
        type: str
        choices: [AES256, "aws:kms", none]
        default: AES256
      s3_kms_key_id:
        description: KMS key id when O(store.s3_sse=aws:kms).
        type: str
"""
