"""Importing companies and contacts from CSV, XLSX and vCard files.

- `reading`: bytes -> text (encoding pre-pass), delimiter sniffing, rows from CSV/XLSX/vCard.
- `columns`: which target field each header means (Outlook, Google, Thunderbird, Salesforce,
  Chinese spreadsheets), and splitting a full name.
- `vcard`: vCard 2.1/3.0/4.0 in, vCard 3.0/4.0 out.
- `service`: the import itself: dry run, batched upsert tagged with the import, resume, revert.
"""
