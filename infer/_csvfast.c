/* seqinfer.infer._csvfast: `seqinfer predict`'s hottest Python loops in C (the reading half, split, is in
   infer/_csvread.c).

   lookup(keys, ids, out) -> int
     keys: a list of series ids (a column's fields), ids: a dict of id -> code, out: a writable buffer of
     len(keys) int64. Fills out with each key's code, -1 where the dict lacks it; returns how many lack it.
     Why: one dict lookup per row in a list comprehension cost ~100 ns a row (state.py's SeriesState).

   The output lines, by contract.format_forecast's rules:

   rows(text, lines, y, n, h) -> bytes
     text:  list of columns, each a list of n bytes (CSV-ready passed-through fields, written as they are)
     lines: a buffer of n int64 (input line numbers)
     y:     a buffer of n * h float32 (forecasts, row-major)
   Each line: the text fields, the line number, the h forecasts in printf's `%.9g`, separated by ',' and
   ended by '\n'. The work runs without the GIL (the stateful pipeline's model and parse threads go on).

   Why C: numpy's writer (csvout._vector_rows) costs ~450 ns a row over 10,000 interleaved series, most of
   the pipeline's CPU after onnxruntime; this costs a tenth of that. The numpy writer stays as the fallback
   where no C compiler built this module.

   %.9g: a float32 x is exact as a double. Where 1e-4 <= |x| < 1e9 (%g's fixed notation for 9 digits),
   x * 10^(8 - e) (e its decimal exponent, the power exact) is the 9-digit integer to print, with at most
   1e9 * 2^-53 = 1.1e-7 absolute error: rounding it to the nearest integer is printf's correctly rounded
   result unless its fraction is within 1e-6 of a tie. Ties, zero, NaN, inf and exponent notation go to
   snprintf (correctly rounded like Python's `%`); NaN and inf are written as Python writes them. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define FLOAT_MAX 32            /* longest %.9g of a float32 (-1.17549435e-38 is 15) with room to spare */
#define LINE_MAX_DIGITS 20      /* an int64 */
#define TIE_MARGIN 1e-6

static const double POW10[13] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12};

/* printf's %.9g of (double)f into out; returns the length. */
static int g9(char *out, float f) {
    double x = (double)f;
    if (isnan(x)) { memcpy(out, "nan", 3); return 3; }               /* Python: never "-nan" */
    double a = fabs(x);
    if (a >= 1e-4 && a < 1e9) {
        int e = (int)floor(log10(a));
        if (e < -4) e = -4;
        if (e > 8) e = 8;
        double scaled = a * POW10[8 - e];
        if (scaled < 1e8 && e > -4) { e -= 1; scaled = a * POW10[8 - e]; }       /* log10 one off */
        else if (scaled >= 1e9 && e < 8) { e += 1; scaled = a * POW10[8 - e]; }
        double whole = floor(scaled), frac = scaled - whole;
        if (scaled >= 1e8 && scaled < 1e9 && fabs(frac - 0.5) > TIE_MARGIN) {
            uint32_t d = (uint32_t)whole + (frac > 0.5);
            if (d < 1000000000u) {
                char dig[9];
                for (int i = 8; i >= 0; i--) { dig[i] = (char)('0' + d % 10); d /= 10; }
                int last = 8;
                while (last > 0 && dig[last] == '0') last--;
                char *p = out;
                if (x < 0) *p++ = '-';
                if (e < 0) {                                        /* 0.000ddd */
                    *p++ = '0'; *p++ = '.';
                    for (int i = 0; i < -e - 1; i++) *p++ = '0';
                    memcpy(p, dig, (size_t)last + 1); p += last + 1;
                } else {                                            /* ddd or ddd.ddd */
                    memcpy(p, dig, (size_t)e + 1); p += e + 1;
                    if (last > e) {
                        *p++ = '.';
                        memcpy(p, dig + e + 1, (size_t)(last - e)); p += last - e;
                    }
                }
                return (int)(p - out);
            }
        }
    }
    if (isinf(x)) {
        if (x < 0) { memcpy(out, "-inf", 4); return 4; }
        memcpy(out, "inf", 3); return 3;
    }
    return snprintf(out, FLOAT_MAX, "%.9g", x);
}

static int decimal(char *out, int64_t v) {
    char tmp[LINE_MAX_DIGITS + 1];
    int k = 0, neg = v < 0;
    uint64_t u = neg ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do { tmp[k++] = (char)('0' + u % 10); u /= 10; } while (u);
    int len = 0;
    if (neg) out[len++] = '-';
    while (k) out[len++] = tmp[--k];
    return len;
}

static PyObject *rows(PyObject *self, PyObject *args) {
    PyObject *text;
    Py_buffer lines, y;
    Py_ssize_t n, h;
    (void)self;
    if (!PyArg_ParseTuple(args, "O!y*y*nn", &PyList_Type, &text, &lines, &y, &n, &h)) return NULL;
    PyObject *result = NULL;
    const char **ptr = NULL;
    Py_ssize_t *len = NULL;
    Py_ssize_t cols = PyList_GET_SIZE(text);
    if (n < 0 || h < 0 || lines.len != n * (Py_ssize_t)sizeof(int64_t) ||
            y.len != n * h * (Py_ssize_t)sizeof(float)) {
        PyErr_SetString(PyExc_ValueError, "rows: lines must hold n int64 and y n*h float32");
        goto done;
    }
    if (cols && n) {
        ptr = PyMem_Malloc((size_t)(cols * n) * sizeof(*ptr));
        len = PyMem_Malloc((size_t)(cols * n) * sizeof(*len));
        if (!ptr || !len) { PyErr_NoMemory(); goto done; }
    }
    Py_ssize_t bound = n * (LINE_MAX_DIGITS + 2 + h * (FLOAT_MAX + 1));
    for (Py_ssize_t j = 0; j < cols; j++) {
        PyObject *col = PyList_GET_ITEM(text, j);
        if (!PyList_Check(col) || PyList_GET_SIZE(col) != n) {
            PyErr_SetString(PyExc_ValueError, "rows: each text column must be a list of n bytes");
            goto done;
        }
        for (Py_ssize_t i = 0; i < n; i++) {
            PyObject *f = PyList_GET_ITEM(col, i);
            if (!PyBytes_Check(f)) {
                PyErr_SetString(PyExc_TypeError, "rows: text fields must be bytes");
                goto done;
            }
            ptr[i * cols + j] = PyBytes_AS_STRING(f);
            len[i * cols + j] = PyBytes_GET_SIZE(f);
            bound += len[i * cols + j] + 1;
        }
    }
    result = PyBytes_FromStringAndSize(NULL, bound);
    if (!result) goto done;
    char *p = PyBytes_AS_STRING(result);
    const int64_t *ln = (const int64_t *)lines.buf;
    const float *v = (const float *)y.buf;
    /* The text lists and their bytes stay alive and unchanged meanwhile: the caller holds them, and no
       other thread of ours touches a batch being formatted. */
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) {
        for (Py_ssize_t j = 0; j < cols; j++) {
            memcpy(p, ptr[i * cols + j], (size_t)len[i * cols + j]);
            p += len[i * cols + j];
            *p++ = ',';
        }
        p += decimal(p, ln[i]);
        for (Py_ssize_t k = 0; k < h; k++) {
            *p++ = ',';
            p += g9(p, v[i * h + k]);
        }
        *p++ = '\n';
    }
    Py_END_ALLOW_THREADS
    if (_PyBytes_Resize(&result, p - PyBytes_AS_STRING(result)) < 0) result = NULL;
done:
    PyMem_Free(ptr);
    PyMem_Free(len);
    PyBuffer_Release(&lines);
    PyBuffer_Release(&y);
    return result;
}

static PyObject *lookup(PyObject *self, PyObject *args) {
    PyObject *keys, *ids;
    Py_buffer out;
    (void)self;
    if (!PyArg_ParseTuple(args, "O!O!w*", &PyList_Type, &keys, &PyDict_Type, &ids, &out)) return NULL;
    Py_ssize_t n = PyList_GET_SIZE(keys), missing = 0;
    PyObject *result = NULL;
    if (out.len != n * (Py_ssize_t)sizeof(int64_t)) {
        PyErr_SetString(PyExc_ValueError, "lookup: out must hold len(keys) int64");
        goto done;
    }
    int64_t *o = (int64_t *)out.buf;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *code = PyDict_GetItemWithError(ids, PyList_GET_ITEM(keys, i));   /* borrowed */
        if (code == NULL) {
            if (PyErr_Occurred()) goto done;                     /* an unhashable key */
            o[i] = -1;
            missing++;
            continue;
        }
        long long c = PyLong_AsLongLong(code);
        if (c == -1 && PyErr_Occurred()) goto done;
        o[i] = (int64_t)c;
    }
    result = PyLong_FromSsize_t(missing);
done:
    PyBuffer_Release(&out);
    return result;
}

/* infer/_csvread.c: the reading half. */
PyObject *csvread_split(PyObject *self, PyObject *args);
PyObject *csvread_interner(PyObject *self, PyObject *args);
int csvread_init(void);

static PyMethodDef methods[] = {
    {"split", csvread_split, METH_VARARGS,
     "split(data, n, k, value_cols, text_cols, series_col, interner, values) -> text columns | None "
     "(_csvread.c)."},
    {"interner", csvread_interner, METH_NOARGS, "interner() -> a table of series ids for split."},
    {"lookup", lookup, METH_VARARGS,
     "lookup(keys, ids, out) -> int: out[i] = ids[keys[i]], -1 where missing; returns how many are."},
    {"rows", rows, METH_VARARGS,
     "rows(text, lines, y, n, h) -> bytes: predict's CSV lines (text fields, line, %.9g forecasts)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_csvfast", NULL, -1, methods};

PyMODINIT_FUNC PyInit__csvfast(void) {
    if (csvread_init() < 0) return NULL;
    return PyModule_Create(&module);
}
