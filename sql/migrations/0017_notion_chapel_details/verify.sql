SELECT baptism_date, baptism_type, witnesses FROM events.baptism_details WHERE false;
SELECT event_type, organization_name, setup_time, cleanup_time, fee FROM events.general_use_details WHERE false;
