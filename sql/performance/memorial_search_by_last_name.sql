-- The memorial search of the web application: by last name, newest first.
SELECT id, first_name, last_name, death_date FROM bayview.memorials
 WHERE lower(last_name) LIKE 'smi%' ORDER BY created_at DESC LIMIT 50
