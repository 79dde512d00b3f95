/**
 * A small RFC 4180 CSV reader for the lab's two configuration tables (playlist and movie lengths).
 * It keeps the line number of every record so errors can say "playlist.csv line 3: …".
 *
 * Accepted: a UTF-8 BOM, CRLF or LF line ends, quoted fields with `""` escapes and embedded commas or
 * newlines. Blank lines are skipped (pandas' `skip_blank_lines=True`). Header names and unquoted
 * cells are trimmed, so "movie_name, movie_length" still finds both columns.
 */
import { HdmeaError } from "../failure.ts";

/** A configuration table or file that cannot be used; `file` names it when one file is at fault. */
export class ConfigFileError extends HdmeaError {
  override name = "ConfigFileError";
  constructor(message: string, file?: string) {
    super(message, "bad-input", file);
  }
}

export interface CsvRecord {
  /** 1-based line on which the record starts. */
  line: number;
  /** Cells by header name. */
  cells: Record<string, string>;
}

export interface CsvTable {
  fileName: string;
  header: string[];
  records: CsvRecord[];
}

/** Parses `text` and checks that every column in `required` is present. */
export function parseCsvTable(text: string, fileName: string, required: readonly string[]): CsvTable {
  const rows = splitCsv(text.replace(/^\uFEFF/, ""), fileName);
  const headerRow = rows.shift();
  if (!headerRow) throw new ConfigFileError(`${fileName}: the file is empty (expected a header with ${required.join(", ")})`, fileName);
  const header = headerRow.fields.map((h) => h.trim());
  const missing = required.filter((c) => !header.includes(c));
  if (missing.length) {
    throw new ConfigFileError(
      `${fileName}: missing column(s) ${missing.join(", ")} (the header is "${header.join(",")}")`,
      fileName,
    );
  }
  const records: CsvRecord[] = [];
  for (const row of rows) {
    if (row.fields.length > header.length) {
      throw new ConfigFileError(
        `${fileName} line ${row.line}: ${row.fields.length} fields but the header has ${header.length} ` +
          `(a cell with a comma must be quoted)`,
        fileName,
      );
    }
    const cells: Record<string, string> = {};
    header.forEach((name, i) => (cells[name] = row.fields[i] ?? ""));
    records.push({ line: row.line, cells });
  }
  return { fileName, header, records };
}

interface RawRow {
  line: number;
  fields: string[];
}

function splitCsv(text: string, fileName: string): RawRow[] {
  const rows: RawRow[] = [];
  let fields: string[] = [];
  let field = "";
  let quoted = false; // the current field was quoted: keep its spaces
  let inQuotes = false;
  let line = 1;
  let rowLine = 1;
  let rowHasContent = false;

  const endField = () => {
    fields.push(quoted ? field : field.trim());
    field = "";
    quoted = false;
  };
  const endRow = () => {
    endField();
    if (rowHasContent) rows.push({ line: rowLine, fields });
    fields = [];
    rowHasContent = false;
  };

  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inQuotes) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else {
          inQuotes = false;
        }
      } else {
        if (c === "\n") line++;
        field += c;
      }
      continue;
    }
    if (c === '"') {
      if (field.trim() !== "") {
        throw new ConfigFileError(`${fileName} line ${line}: a quote in the middle of an unquoted cell ("${field}…")`, fileName);
      }
      field = "";
      inQuotes = true;
      quoted = true;
      rowHasContent = true;
    } else if (c === ",") {
      endField();
      rowHasContent = true;
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      endRow();
      line++;
      rowLine = line;
    } else {
      if (quoted) {
        if (c.trim() !== "") {
          throw new ConfigFileError(`${fileName} line ${line}: text after a closing quote`, fileName);
        }
        continue;
      }
      if (c.trim() !== "") rowHasContent = true;
      field += c;
    }
  }
  if (inQuotes) throw new ConfigFileError(`${fileName} line ${rowLine}: a quoted cell is never closed`, fileName);
  endRow();
  return rows;
}
