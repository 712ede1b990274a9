"""What an organization's admins keep up: its profile and its classes (pages, API, writes).

Apart from structure, which holds the records and imports no app, because every write here
is an admin's and asks accounts who holds which role. The pages keep structure's URL names
and the API its /api/structure/ prefix.
"""
