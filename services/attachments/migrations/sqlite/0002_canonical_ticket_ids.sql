-- Ticket ids are stored in their canonical form only (hyphenated, lower case), the form the
-- tickets service uses when it deletes a ticket's attachments. Rows written before the service
-- parsed path ids were stored as the client spelt them: upper case, or 32 hex digits.
UPDATE attachments SET ticket_id = lower(ticket_id) WHERE ticket_id <> lower(ticket_id);
UPDATE attachments
SET ticket_id = substr(ticket_id, 1, 8) || '-' || substr(ticket_id, 9, 4) || '-'
    || substr(ticket_id, 13, 4) || '-' || substr(ticket_id, 17, 4) || '-'
    || substr(ticket_id, 21, 12)
WHERE length(ticket_id) = 32 AND ticket_id NOT LIKE '%-%';
