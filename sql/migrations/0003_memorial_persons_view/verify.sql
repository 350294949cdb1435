SELECT memorial_id, submission_id, role, person_id, person_type FROM migration.memorial_persons WHERE false;
