SELECT needs_piano, needs_organ, performance_location FROM events.service_music WHERE false;
