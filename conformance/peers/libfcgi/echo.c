/* Echo application on libfcgi's fcgiapp.h API: see docs/echo-contract.md.
 * Build: cc -O2 -o echo echo.c -lfcgi
 * Run with the listening socket on fd 0 (spawn-fcgi, cgi-fcgi -start), or
 * with a path/":PORT" as argv[1] to open the socket itself. */
#include <fcgiapp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    int sock = 0;
    FCGX_Request req;

    if (FCGX_Init() != 0)
        return 1;
    if (argc > 1 && (sock = FCGX_OpenSocket(argv[1], 16)) < 0)
        return 1;
    if (FCGX_InitRequest(&req, sock, 0) != 0)
        return 1;
    while (FCGX_Accept_r(&req) >= 0) {
        char *body = NULL, *status, *err, *big;
        size_t len = 0, cap = 0;
        char **e;
        int n;

        /* Read the whole FCGI_STDIN stream: it ends at its empty record. */
        for (;;) {
            if (cap - len < 65536) {
                cap = cap ? cap * 2 : 131072;
                if (!(body = realloc(body, cap)))
                    return 1;
            }
            n = FCGX_GetStr(body + len, (int)(cap - len), req.in);
            if (n <= 0)
                break;
            len += (size_t)n;
        }
        status = FCGX_GetParam("ECHO_STATUS", req.envp);
        if (status)
            FCGX_FPrintF(req.out, "Status: %s Echo\r\n", status);
        else
            FCGX_FPrintF(req.out, "Status: 200 OK\r\n");
        FCGX_FPrintF(req.out, "Content-Type: text/plain\r\nX-Fcgi-Echo: 1\r\n\r\n");
        err = FCGX_GetParam("ECHO_STDERR", req.envp);
        if (err)
            FCGX_PutStr(err, (int)strlen(err), req.err);
        FCGX_FPrintF(req.out, "FCGI-ECHO/1\n");
        for (e = req.envp; *e; e++)
            if (strncmp(*e, "ECHO_", 5) == 0)
                FCGX_FPrintF(req.out, "param %s\n", *e);
        FCGX_FPrintF(req.out, "stdin %lu\n", (unsigned long)len);
        if (len)
            FCGX_PutStr(body, (int)len, req.out);
        big = FCGX_GetParam("ECHO_BIG", req.envp);
        if (big) {
            static char xs[65536];
            long left = atol(big);
            memset(xs, 'x', sizeof xs);
            while (left > 0) {
                int chunk = left > (long)sizeof xs ? (int)sizeof xs : (int)left;
                FCGX_PutStr(xs, chunk, req.out);
                left -= chunk;
            }
        }
        free(body);
        FCGX_Finish_r(&req);
    }
    return 0;
}
