/* seqinfer.infer._csvfast, its reading half: a block of plain CSV lines split and its numbers read in C.

   split(data, n, k, value_cols, text_cols, series_col, interner, values) -> list[list[bytes]] | None
     data:       bytes, n lines of k fields, each line ended by '\n' (no '\r': parse.py checks)
     value_cols: tuple of the fields read as numbers, into values (a writable buffer of n * len(value_cols)
                 float64, row-major)
     text_cols:  tuple of the fields returned as bytes, one list per entry; series_col's list (when it is
                 among them; -1: none) holds one shared bytes object per distinct id, from interner
   A field may be quoted ("s1", "1.5": R's write.csv, MySQL's ENCLOSED BY): its text is what the quotes
   hold, as the careful parse reads it, and needs no quotes again on output. None when anything is
   unusual: a line without k fields, a number outside the plain grammar below, a number too long to read, a
   quote inside an unquoted field, a quoted field that holds a quote ("") or a line break, or (where it is
   read) a comma. parse.py then takes its pyarrow or careful path, which decides (errors with
   their line); so this never rejects a file, it only declines to read it fast.

   Numbers: [+-]? digits [. digits] [(e|E) [+-]? digits], or with no digit before the point. That is a
   subset of what Python's float() reads, read to the same double: a mantissa of at most 19 digits whose
   power of ten is within 10^+-22 and itself at most 2^53 is exact in a double, so one multiplication or
   division rounds it correctly (Clinger's fast path); anything else goes to the C library's strtod in the
   "C" locale, correctly rounded in glibc (elsewhere: declined). No spaces, no "nan", "inf", "1_000".

   The line scan and the number reading run without the GIL.

   interner() -> capsule: a table of series ids seen, so that a row's id costs a probe, not a new bytes
   object, and the dict lookup that gives its series code (state.py) hashes nothing. At most INTERN_MAX
   ids are kept; past that, new ids get bytes objects of their own (same values, just not shared).

   Why C: pyarrow's read_csv plus to_pylist of the id column cost ~0.13 s per 1M rows of 10,000 series,
   and the dict lookups another 0.05-0.1 s, all on the parse thread, the stateful pipeline's slowest. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <locale.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define INTERN_MAX (1 << 18)
#define FIELD_MAX 64             /* longest number handed to strtod */
#define MANTISSA_DIGITS 19

static const double EXACT10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                   1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* ---- numbers ------------------------------------------------------------------------------------------ */

#if defined(__GLIBC__)
static locale_t c_locale;
static int slow_number(const char *s, const char *e, double *out) {
    char buf[FIELD_MAX + 1];
    size_t len = (size_t)(e - s);
    if (len > FIELD_MAX || !c_locale) return 0;
    memcpy(buf, s, len);
    buf[len] = 0;
    char *end;
    *out = strtod_l(buf, &end, c_locale);
    return end == buf + len;
}
#else
static int slow_number(const char *s, const char *e, double *out) {
    (void)s; (void)e; (void)out;
    return 0;
}
#endif

/* The number that starts at s (the field's end is where it stops: the caller checks a delimiter follows);
   NULL when none does by the grammar above. */
static const char *number(const char *s, const char *e, double *out) {
    const char *p = s;
    int neg = 0;
    if (p < e && (*p == '+' || *p == '-')) neg = *p++ == '-';
    uint64_t m = 0;
    int digits = 0, kept = 0, exp10 = 0;
    for (; p < e && *p >= '0' && *p <= '9'; p++, digits++) {
        if (m == 0 && *p == '0') continue;
        if (kept < MANTISSA_DIGITS) { m = m * 10 + (uint64_t)(*p - '0'); kept++; }
        else exp10++;
    }
    if (p < e && *p == '.') {
        for (p++; p < e && *p >= '0' && *p <= '9'; p++, digits++) {
            if (m == 0 && *p == '0') { exp10--; continue; }
            if (kept < MANTISSA_DIGITS) { m = m * 10 + (uint64_t)(*p - '0'); kept++; exp10--; }
        }
    }
    if (!digits) return NULL;
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        int eneg = 0, edigits = 0, ev = 0;
        if (p < e && (*p == '+' || *p == '-')) eneg = *p++ == '-';
        for (; p < e && *p >= '0' && *p <= '9'; p++, edigits++)
            if (ev < 100000) ev = ev * 10 + (*p - '0');
        if (!edigits) return NULL;
        exp10 += eneg ? -ev : ev;
    }
    if (m == 0) { *out = neg ? -0.0 : 0.0; return p; }
    /* Digits past the 19th were dropped only where m >= 10^18 > 2^53: those numbers take strtod. */
    if (m <= ((uint64_t)1 << 53) && exp10 >= -22 && exp10 <= 22) {
        double v = (double)m;
        v = exp10 < 0 ? v / EXACT10[-exp10] : v * EXACT10[exp10];
        *out = neg ? -v : v;
        return p;
    }
    return slow_number(s, p, out) ? p : NULL;
}

/* ---- the id table ------------------------------------------------------------------------------------- */

typedef struct { uint64_t hash; PyObject *obj; } Entry;     /* obj: a bytes object the table owns */
typedef struct { size_t size, used; Entry *tab; } Interner;  /* size: a power of two, at most half full */

static uint64_t hash_bytes(const char *s, size_t len) {      /* FNV-1a */
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

/* The id's bytes object, borrowed; NULL when the table lacks it. Needs no GIL. */
static PyObject *find(const Interner *t, uint64_t h, const char *s, size_t len) {
    for (size_t i = h & (t->size - 1);; i = (i + 1) & (t->size - 1)) {
        PyObject *o = t->tab[i].obj;
        if (!o) return NULL;
        if (t->tab[i].hash == h && (size_t)PyBytes_GET_SIZE(o) == len && !memcmp(PyBytes_AS_STRING(o), s, len))
            return o;
    }
}

static int grow(Interner *t) {
    size_t size = t->size * 2;
    Entry *tab = calloc(size, sizeof(Entry));
    if (!tab) { PyErr_NoMemory(); return -1; }
    for (size_t i = 0; i < t->size; i++) {
        if (!t->tab[i].obj) continue;
        size_t j = t->tab[i].hash & (size - 1);
        while (tab[j].obj) j = (j + 1) & (size - 1);
        tab[j] = t->tab[i];
    }
    free(t->tab);
    t->tab = tab;
    t->size = size;
    return 0;
}

/* A new reference to the id's bytes object, added to the table while it has room. Needs the GIL. */
static PyObject *intern(Interner *t, uint64_t h, const char *s, size_t len) {
    PyObject *o = find(t, h, s, len);
    if (o) { Py_INCREF(o); return o; }
    o = PyBytes_FromStringAndSize(s, (Py_ssize_t)len);
    if (!o || t->used >= INTERN_MAX) return o;
    if (2 * (t->used + 1) > t->size && grow(t) < 0) { Py_DECREF(o); return NULL; }
    size_t i = h & (t->size - 1);
    while (t->tab[i].obj) i = (i + 1) & (t->size - 1);
    t->tab[i].hash = h;
    t->tab[i].obj = o;
    Py_INCREF(o);
    t->used++;
    return o;
}

static void interner_free(PyObject *capsule) {
    Interner *t = PyCapsule_GetPointer(capsule, "seqinfer.interner");
    if (!t) return;
    for (size_t i = 0; i < t->size; i++) Py_XDECREF(t->tab[i].obj);
    free(t->tab);
    free(t);
}

PyObject *csvread_interner(PyObject *self, PyObject *args) {
    (void)self; (void)args;
    Interner *t = calloc(1, sizeof(Interner));
    if (t) t->tab = calloc(t->size = 1024, sizeof(Entry));
    if (!t || !t->tab) { free(t); return PyErr_NoMemory(); }
    PyObject *c = PyCapsule_New(t, "seqinfer.interner", interner_free);
    if (!c) { free(t->tab); free(t); }
    return c;
}

/* ---- the block ---------------------------------------------------------------------------------------- */

typedef struct {
    const char *data;
    Py_ssize_t len, n, k, nv, nt;
    const int *vslot, *tslot;   /* per field: its place in value_cols / text_cols, -1: none */
    Py_ssize_t sslot;           /* series_col's place in text_cols, -1: none */
    double *values;             /* [n, nv] */
    Py_ssize_t *spans;          /* [n, nt, 2]: start, length */
    uint64_t *hashes;           /* [n]: the series id's hash */
    PyObject **found;           /* [n]: its interned object (borrowed), NULL: not in the table yet */
    const Interner *table;
} Scan;

/* Split every line, read its numbers, look up its id; 0 when the block is not plain (see the top). */
static int scan(Scan *c) {
    const char *p = c->data, *end = c->data + c->len;
    for (Py_ssize_t i = 0; i < c->n; i++) {
        for (Py_ssize_t j = 0; j < c->k; j++) {
            int v = c->vslot[j], t = c->tslot[j];
            double *value = &c->values[i * c->nv + (v >= 0 ? v : 0)];
            const char *s = p, *e;                                    /* the field's content: [s, e) */
            if (p < end && *p == '"') {                               /* "s1", "2024-01-01", "1.5" */
                s = ++p;
                if (!(p = memchr(p, '"', (size_t)(end - p)))) return 0;
                e = p++;            /* "" inside fails the delimiter check below, a line break the count */
                if ((v >= 0 || t >= 0) && memchr(s, ',', (size_t)(e - s))) return 0;    /* re-quoted on output */
                if (v >= 0 && number(s, e, value) != e) return 0;
            } else if (v >= 0) {
                if (!(p = number(s, end, value))) return 0;
                e = p;
            } else {
                while (p < end && *p != ',' && *p != '\n' && *p != '"') p++;
                e = p;
            }
            if (p == end || *p != (j == c->k - 1 ? '\n' : ',')) return 0;
            if (t >= 0) {
                Py_ssize_t *span = &c->spans[(i * c->nt + t) * 2];
                span[0] = s - c->data;
                span[1] = e - s;
                if (t == c->sslot) {
                    c->hashes[i] = hash_bytes(s, (size_t)(e - s));
                    c->found[i] = find(c->table, c->hashes[i], s, (size_t)(e - s));
                }
            }
            p++;
        }
    }
    return p == end;
}

static PyObject *columns(const Scan *c, Interner *table) {
    PyObject *out = PyList_New(c->nt);
    if (!out) return NULL;
    for (Py_ssize_t t = 0; t < c->nt; t++) {
        PyObject *col = PyList_New(c->n);
        if (!col) goto fail;
        PyList_SET_ITEM(out, t, col);
        for (Py_ssize_t i = 0; i < c->n; i++) {
            const Py_ssize_t *span = &c->spans[(i * c->nt + t) * 2];
            const char *s = c->data + span[0];
            PyObject *o;
            if (t != c->sslot) o = PyBytes_FromStringAndSize(s, span[1]);
            else if (c->found[i]) { o = c->found[i]; Py_INCREF(o); }
            else o = intern(table, c->hashes[i], s, (size_t)span[1]);
            if (!o) goto fail;
            PyList_SET_ITEM(col, i, o);
        }
    }
    return out;
fail:
    Py_DECREF(out);
    return NULL;
}

static int *slots(PyObject *cols, Py_ssize_t k) {
    int *slot = malloc(sizeof(int) * (size_t)(k ? k : 1));
    if (!slot) return NULL;
    for (Py_ssize_t j = 0; j < k; j++) slot[j] = -1;
    for (Py_ssize_t s = 0; s < PyTuple_GET_SIZE(cols); s++) {
        Py_ssize_t j = PyLong_AsSsize_t(PyTuple_GET_ITEM(cols, s));
        if (j < 0 || j >= k) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "split: a column beyond k");
            free(slot);
            return NULL;
        }
        slot[j] = (int)s;
    }
    return slot;
}

PyObject *csvread_split(PyObject *self, PyObject *args) {
    PyObject *data, *vcols, *tcols, *capsule, *result = NULL;
    Py_ssize_t n, k, series_col;
    Py_buffer values;
    (void)self;
    if (!PyArg_ParseTuple(args, "O!nnO!O!nOw*", &PyBytes_Type, &data, &n, &k, &PyTuple_Type, &vcols,
                          &PyTuple_Type, &tcols, &series_col, &capsule, &values))
        return NULL;
    Interner *table = PyCapsule_GetPointer(capsule, "seqinfer.interner");
    Scan c = {PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data), n, k, PyTuple_GET_SIZE(vcols),
              PyTuple_GET_SIZE(tcols), NULL, NULL, -1, values.buf, NULL, NULL, NULL, table};
    int *vslot = NULL, *tslot = NULL;
    if (!table) goto done;
    if (n < 0 || k < 1 || values.len != n * c.nv * (Py_ssize_t)sizeof(double)) {
        PyErr_SetString(PyExc_ValueError, "split: values must hold n * len(value_cols) float64");
        goto done;
    }
    if (!(vslot = slots(vcols, k)) || !(tslot = slots(tcols, k))) goto done;
    c.vslot = vslot;
    c.tslot = tslot;
    c.sslot = series_col >= 0 && series_col < k ? tslot[series_col] : -1;
    c.spans = malloc(sizeof(Py_ssize_t) * 2 * (size_t)(n * c.nt + 1));
    c.hashes = malloc(sizeof(uint64_t) * (size_t)(n + 1));
    c.found = malloc(sizeof(PyObject *) * (size_t)(n + 1));
    if (!c.spans || !c.hashes || !c.found) { PyErr_NoMemory(); goto done; }
    int plain;
    Py_BEGIN_ALLOW_THREADS
    plain = scan(&c);
    Py_END_ALLOW_THREADS
    if (!plain) { result = Py_None; Py_INCREF(result); goto done; }
    result = columns(&c, table);
done:
    free(vslot);
    free(tslot);
    free(c.spans);
    free(c.hashes);
    free(c.found);
    PyBuffer_Release(&values);
    return result;
}

int csvread_init(void) {
#if defined(__GLIBC__)
    c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
#endif
    return 0;
}
