#include <cblas.h>
/* OpenBLAS extensions (declared in its cblas.h on Debian; repeated for clarity). */
void openblas_set_num_threads(int num_threads);
char *openblas_get_corename(void);
