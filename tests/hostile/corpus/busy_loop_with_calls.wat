;; Spins forever through function calls (no loop back-edge in the callee).
(module
  (func $f (result i32) (i32.const 1))
  (func (export "spin") (loop $l (drop (call $f)) (br $l))))
