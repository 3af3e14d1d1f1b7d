/* Runs the cancellation snippet of README's C section. scripts/test-c.sh
 * extracts that ```c block into readme_snippet.c (in its build directory,
 * passed with -I) and compiles this file, which includes it: the README's
 * code is compiled with -Wall -Wextra -Werror and run natively and under
 * valgrind. */
#include "readme_snippet.c"

#include "check.h"

int main(void) {
    aegis_builder_t *b = aegis_builder_new();
    OK(aegis_builder_no_fuel_limit(b)); /* only the timeout (30 s) or a cancel ends it */
    aegis_runtime_t *rt = build_runtime(b);
    aegis_module_t *m = wat(rt, "(module (func (export \"spin\") (loop (br 0)))"
                                " (func (export \"noop\")))");
    aegis_sandbox_t *sb = sandbox_with(rt, m);
    FAILS(call_cancelled_after(sb, "spin", 200), AEGIS_ERROR_INTERRUPTED, "interrupted");
    OK(aegis_sandbox_call_void(sb, "noop"));
    aegis_sandbox_delete(sb);
    aegis_module_delete(m);
    aegis_runtime_delete(rt);
    return done("readme_interrupt");
}
