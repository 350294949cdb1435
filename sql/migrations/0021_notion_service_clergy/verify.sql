SELECT clergy_name, clergy_approved FROM events.service_clergy WHERE false;
