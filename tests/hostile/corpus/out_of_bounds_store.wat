;; Writes far past the end of linear memory (would hit host memory without guards).
(module (memory 1) (func (export "boom") (i64.store (i32.const 0x7ffffff0) (i64.const -1))))
