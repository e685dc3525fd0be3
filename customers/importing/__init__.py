"""Importing companies and contacts from CSV, XLSX and vCard files.

- `reading`: bytes -> text (encoding pre-pass), delimiter sniffing, rows from CSV/XLSX.
- `columns`: which target field each header means (Outlook, Google, Thunderbird, Salesforce,
  Chinese spreadsheets), and splitting a full name.
- `vcard`: vCard 2.1/3.0/4.0 in, vCard 3.0/4.0 out.
- `source`: an import's stored file as a table, through the reader its format needs.
- `kinds`: the registry of what can be imported (other apps register theirs).
- `customer_kinds`: the companies and contacts kinds.
- `service`: the import as the user drives it: upload, mapping, start, resume, revert.
- `running`: the background run: chunked, resumable upserts tagged with the import, dry runs.
"""
