-- The chapel calendar: is the chapel free on a date at a time.
SELECT crouse_chapel.is_chapel_available(DATE '2026-07-04', TIME '14:00')
