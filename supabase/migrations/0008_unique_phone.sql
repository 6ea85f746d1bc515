-- One account per phone number: verification checks it, and this closes the race of two accounts
-- confirming the same number at the same moment.
drop index if exists public.user_phones_phone_idx;
create unique index user_phones_phone_key on public.user_phones (phone);
