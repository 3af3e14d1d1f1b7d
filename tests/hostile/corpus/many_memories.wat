;; Multi-memory: each 1000 pages (64 MiB + change in total).
(module
  (memory 400) (memory 400) (memory 400)
  (func (export "noop")))
