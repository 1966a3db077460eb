-- "Answer me through the wiki's e-mail": the verified wiki account the answers go to,
-- through the site's bot and the wiki's emailuser. Helpline never learns the address.
ALTER TABLE conversations ADD COLUMN wiki_mail_to TEXT;
