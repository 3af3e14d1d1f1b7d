(module (table 4 funcref) (type $t (func))
  (func (export "boom") (call_indirect (type $t) (i32.const 2))))
