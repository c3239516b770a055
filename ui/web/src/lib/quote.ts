// quote.ts — names in SQL the page builds, quoted as PostgreSQL's
// quote_ident() would (the same rules and keyword list as common/sqlident.c;
// test/quote.test.ts checks that the two lists agree).

/** PostgreSQL's keywords in every category but unreserved. */
export const KEYWORDS: ReadonlySet<string> = new Set([
  'all', 'analyse', 'analyze', 'and', 'any', 'array', 'as', 'asc', 'asymmetric', 'authorization',
  'between', 'bigint', 'binary', 'bit', 'boolean', 'both', 'case', 'cast', 'char', 'character',
  'check', 'coalesce', 'collate', 'collation', 'column', 'concurrently', 'constraint', 'create',
  'cross', 'current_catalog', 'current_date', 'current_role', 'current_schema', 'current_time',
  'current_timestamp', 'current_user', 'dec', 'decimal', 'default', 'deferrable', 'desc',
  'distinct', 'do', 'else', 'end', 'except', 'exists', 'extract', 'false', 'fetch', 'float', 'for',
  'foreign', 'freeze', 'from', 'full', 'grant', 'greatest', 'group', 'grouping', 'having', 'ilike',
  'in', 'initially', 'inner', 'inout', 'int', 'integer', 'intersect', 'interval', 'into', 'is',
  'isnull', 'join', 'json', 'json_array', 'json_arrayagg', 'json_exists', 'json_object',
  'json_objectagg', 'json_query', 'json_scalar', 'json_serialize', 'json_table', 'json_value',
  'lateral', 'leading', 'least', 'left', 'like', 'limit', 'localtime', 'localtimestamp',
  'merge_action', 'national', 'natural', 'nchar', 'none', 'normalize', 'not', 'notnull', 'null',
  'nullif', 'numeric', 'offset', 'on', 'only', 'or', 'order', 'out', 'outer', 'overlaps',
  'overlay', 'placing', 'position', 'precision', 'primary', 'real', 'references', 'returning',
  'right', 'row', 'select', 'session_user', 'setof', 'similar', 'smallint', 'some', 'substring',
  'symmetric', 'system_user', 'table', 'tablesample', 'then', 'time', 'timestamp', 'to',
  'trailing', 'treat', 'trim', 'true', 'union', 'unique', 'user', 'using', 'values', 'varchar',
  'variadic', 'verbose', 'when', 'where', 'window', 'with', 'xmlattributes', 'xmlconcat',
  'xmlelement', 'xmlexists', 'xmlforest', 'xmlnamespaces', 'xmlparse', 'xmlpi', 'xmlroot',
  'xmlserialize', 'xmltable'
]);

/** Would quote_ident() quote this name? */
export function needsQuotes(name: string): boolean {
  return !/^[a-z_][a-z0-9_]*$/.test(name) || KEYWORDS.has(name);
}

/** name as quote_ident() gives it. */
export function quoteIdent(name: string): string {
  return needsQuotes(name) ? '"' + name.replace(/"/g, '""') + '"' : name;
}

/** schema.name, each part quoted; the schema is left out when it is on
 * the search path given (and no earlier schema on it has the name: the
 * caller passes shadowed = true then). */
export function qualified(schema: string, name: string, searchPath?: readonly string[], shadowed = false): string {
  if (searchPath && !shadowed && searchPath.includes(schema)) return quoteIdent(name);
  return quoteIdent(schema) + '.' + quoteIdent(name);
}
