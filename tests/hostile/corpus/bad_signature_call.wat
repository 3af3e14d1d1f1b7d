(module (table 1 funcref) (type $t (func (result i32)))
  (func $f (param i64))
  (elem (i32.const 0) $f)
  (func (export "boom") (result i32) (call_indirect (type $t) (i32.const 0))))
