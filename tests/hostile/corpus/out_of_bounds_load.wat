;; Reads past the end of linear memory.
(module (memory 1) (func (export "boom") (result i32) (i32.load (i32.const 70000))))
