-- Opening one memorial application by its submission id.
SELECT * FROM bayview.memorials WHERE submission_id = 'MG-000042'
