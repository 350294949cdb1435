-- Variant: in some environments the names are NOT NULL (the application wrote '' instead).
ALTER TABLE bayview.memorials
    ALTER COLUMN first_name SET NOT NULL,
    ALTER COLUMN last_name SET NOT NULL;
