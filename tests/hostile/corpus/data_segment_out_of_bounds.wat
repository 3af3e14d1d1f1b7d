;; An active data segment outside its memory: instantiation must fail cleanly.
(module (memory 1) (data (i32.const 65530) "0123456789abcdef") (func (export "noop")))
