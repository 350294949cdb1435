-- The office's dashboard: memorial applications per payment status.
SELECT payment_status, count(*) FROM bayview.memorials GROUP BY payment_status
