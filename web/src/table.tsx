/** A table whose columns sort on a click or Enter (buttons in the headers), with aria-sort saying how. */
import { type ReactNode, useState } from "react";

export interface Column<T> {
  label: string;
  /** What the column sorts by; null sorts last. */
  value(row: T): number | string | null;
  render?(row: T): ReactNode;
}

export function SortableTable<T>(props: { caption: string; columns: Column<T>[]; rows: T[]; rowKey(row: T): string }) {
  const [sort, setSort] = useState<{ by: number; asc: boolean }>({ by: 0, asc: true });
  const col = props.columns[sort.by];
  const rows = col
    ? [...props.rows].sort((a, b) => {
        const x = col.value(a);
        const y = col.value(b);
        if (x === null || y === null) return x === y ? 0 : x === null ? 1 : -1;
        const c = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
        return sort.asc ? c : -c;
      })
    : props.rows;
  return (
    <div className="table-wrap">
      <table>
        <caption>{props.caption}</caption>
        <thead>
          <tr>
            {props.columns.map((c, i) => (
              <th
                key={c.label}
                scope="col"
                aria-sort={sort.by === i ? (sort.asc ? "ascending" : "descending") : "none"}
              >
                <button
                  type="button"
                  className="ghost sort"
                  onClick={() => setSort((s) => ({ by: i, asc: s.by === i ? !s.asc : true }))}
                >
                  {c.label}
                </button>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={props.rowKey(r)}>
              {props.columns.map((c) => (
                <td key={c.label}>{c.render ? c.render(r) : (c.value(r) ?? "—")}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
