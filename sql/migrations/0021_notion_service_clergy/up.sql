-- phase: 2
-- description: The clergy a chapel form names in Notion (Clergy Name, free text, and Clergy Approved) as the form wrote them: a service's clergy row keeps the name and whether the association approved them, with no clergy record (clergy_id NULL) until staff tie the name to the register, which only they can (a free-text name matched to a register is a guess). The Notion clergy migration (0037) fills them; a legacy row leaves them NULL.
ALTER TABLE events.service_clergy
    ADD COLUMN clergy_name     text,
    ADD COLUMN clergy_approved boolean;
