/* init/main.c: placeholder entry until init lands (replaced by the init work). */
int main(void) { return 0; }
