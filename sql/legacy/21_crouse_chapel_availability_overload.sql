-- Variant: some environments also have the three-argument overload.
CREATE FUNCTION crouse_chapel.is_chapel_available(check_date date, check_time time,
                                                  service_type varchar)
RETURNS boolean LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF service_type = 'wedding' AND extract(dow FROM check_date) = 0 THEN
        RETURN false;  -- no Sunday weddings
    END IF;
    RETURN crouse_chapel.is_chapel_available(check_date, check_time);
END;
$$;
