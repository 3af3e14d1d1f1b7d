;; A component whose `run: func(s: string) -> u32` returns the string's length
;; in bytes, and whose realloc grows memory by 16 pages (more for a big string)
;; on every call and returns a pointer into the new pages: a host lowering the
;; argument must write it into memory that did not exist a moment before.
(component
  (core module $m
    (memory (export "memory") 1)
    (func (export "realloc") (param $old_ptr i32) (param $old_size i32)
                             (param $align i32) (param $new_size i32) (result i32)
      (local $old_pages i32)
      (local.set $old_pages (memory.grow
        (i32.add (i32.const 16) (i32.shr_u (local.get $new_size) (i32.const 16)))))
      (if (i32.eq (local.get $old_pages) (i32.const -1)) (then unreachable))
      (i32.add (i32.shl (local.get $old_pages) (i32.const 16)) (i32.const 16)))
    (func (export "run") (param $ptr i32) (param $len i32) (result i32)
      (local.get $len)))
  (core instance $i (instantiate $m))
  (func (export "run") (param "s" string) (result u32)
    (canon lift (core func $i "run") (memory (core memory $i "memory")) (realloc (core func $i "realloc")))))
