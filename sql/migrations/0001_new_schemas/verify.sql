SELECT 'core'::regnamespace, 'property'::regnamespace, 'education'::regnamespace,
       'events'::regnamespace, 'recreation'::regnamespace, 'finance'::regnamespace;
