;; A component that exports nothing: running it must say `export_not_found`
;; (there is no `wasi:cli/run`), not a generic trap.
(component)
