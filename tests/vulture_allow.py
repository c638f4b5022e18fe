"""Names vulture cannot see being used, because they are found by name at run time (`.ci/run` runs vulture over
the package and the tests with this file, so any other unused definition fails CI).

- visitor and emitter methods, dispatched on the AST node type name (`visit_Name`, `emit_Call`, `call_sum`);
- Lark transformer callbacks, named after grammar rules (`neg`, `not_in`);
- click commands and pygls handlers, registered by decorators;
- pytest fixtures, requested by parameter name;
- `ceruleng.__getattr__` (the lazy API) and the multiprocessing pool state `batch` sets to stop it;
- `SourceDoc.url`: the model mirrors the YAML (a source may name its URL) even where nothing reads it yet;
- `parser.write_tables`: run by hand to regenerate `expr/parse_tables.json` after a grammar change (its docstring);
- RE2 options set as attributes (`log_errors`, `never_capture`);
- the Spark stand-in's methods and attributes (`mapPartitions`, `saveAsTextFile`, `broadcast`, `parallelize`,
  `SparkSession`), called by the README's recipe text that tests/test_engine_recipes.py runs;
- the expression printer's methods (`boolean`, `list_of`, `not_`), dispatched on the node type like the checker's;
- ruamel.yaml's `preserve_quotes` and html.parser's `handle_starttag`/`handle_data`, set or called by the library;
- `scoring.encode._Member.input`: a msgspec Struct field, written by msgspec by name (the other fields are read too);
- `HtmlWriter`: an optional writer, imported by name only when `--format html` is asked for (`OPTIONAL_WRITERS`);
- pickle's hooks in `speccache` (`reducer_override`, `persistent_id`, `persistent_load`), called by the pickler.
"""

# ruff: noqa

__getattr__
_.emit_Number
_.emit_String
_.emit_Boolean
_.emit_ListOf
_.emit_Name
_.emit_Field
_.emit_Index
_.emit_Neg
_.emit_Not
_.emit_Conditional
emit_Add
emit_Div
emit_Mul
emit_Sub
emit_Eq
emit_Ge
emit_Gt
emit_Le
emit_Lt
emit_Ne
emit_In
emit_NotIn
_.emit_And
_.emit_Or
_.emit_Call
_.call_has
_.call_default
_.call_sum
_.call_count
_.call_any
_.call_all
_.call_longest_run
_._state
eval_command
lsp
_.visit_Number
_.visit_String
_.visit_Boolean
_.visit_ListOf
_.visit_Field
_.visit_Neg
_.visit_Not
_.visit_Conditional
visit_Add
visit_Div
visit_Mul
visit_Sub
visit_Ge
visit_Gt
visit_Le
visit_Lt
visit_Eq
visit_Ne
visit_In
visit_NotIn
visit_And
visit_Or
_.string
_.true
_.false
_.list_
_.atom
_.neg
_.not_op
_.conditional
_.not_in
did_open
did_change
did_save
did_close
completion
code_action
document_symbol
url
_private_check_cache
broken_floor
write_tables
_.log_errors
_.never_capture
HtmlWriter
diff_command
fmt_command
init
_.preserve_quotes
_.boolean
_.list_of
_.not_
_.handle_starttag
_.handle_data
_.input
_.mapPartitions
_.saveAsTextFile
_.broadcast
_.parallelize
_.SparkSession
_.reducer_override
_.persistent_id
_.persistent_load
