/* load.c: ONNX ModelProto (protobuf-c) -> IR. The only file of the compiler that includes
 * protobuf-c. It checks what the protobuf itself cannot: data sizes against dims, tensors used
 * before being produced, attribute types, opsets; shape rules are left to shape.c.
 * External data (weights in files beside the model) is mapped, one mapping per file for the
 * whole load, and copied into the tensor's arena buffer like raw_data; the mappings go when the
 * load ends. Locations must stay inside the model's directory, symlinks included.
 * Adding an op: parse its attributes in load_attrs(). */
#define _XOPEN_SOURCE 700 /* realpath */
#include "effc.h"
#include "onnx.pb-c.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MIN_OPSET 1
#define MAX_OPSET 18

/* An external data file, mapped once however many tensors it holds. */
struct ext_file {
	char *real; /* realpath, malloc'd */
	const void *data;
	size_t size;
};

struct loader {
	struct effc_graph *g;
	struct effc_diag *d;
	const struct effc_load_options *o;
	const char *dir; /* where external data locations start; NULL: external data refused */
	char *dir_real;  /* realpath(dir), malloc'd on first use */
	struct ext_file *ext;
	int n_ext, cap_ext;
	int in_initializers;   /* loading graph initializers: their bytes count against the cap */
	uint64_t weight_bytes; /* initializer bytes so far */
};

static const char *dtype_name(int32_t t)
{
	static const char *const names[] = {"undefined", "float32", "uint8", "int8", "uint16", "int16",
					    "int32", "int64", "string", "bool", "float16", "float64",
					    "uint32", "uint64", "complex64", "complex128", "bfloat16"};
	return t >= 0 && t < (int32_t)(sizeof names / sizeof *names) ? names[t] : "unknown";
}

/* ---- external data --------------------------------------------------------------------- */

/* A decimal offset or length: digits only (no sign, no spaces), no overflow. */
static int parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	if (!s || !*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

/* The location checks that need no file system: relative, no '..' component. */
static const char *bad_location(const char *loc)
{
	if (!*loc)
		return "is empty";
	if (*loc == '/')
		return "is an absolute path; it must be relative to the model's directory";
	for (const char *p = loc; *p;) {
		size_t n = strcspn(p, "/");
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return "has a '..' component; it must stay inside the model's directory";
		p += n;
		p += *p == '/';
	}
	return NULL;
}

struct ext_ref {
	const char *location;
	uint64_t offset, length;
	int has_length;
};

/* Reads the key/value entries of tp->external_data; checksum (and keys ONNX may add) are not
 * needed to find the bytes and are ignored. */
static enum effc_status parse_ext_ref(struct loader *L, const Onnx__TensorProto *tp, const char *what, const char *name,
				      struct ext_ref *r)
{
	const char *path = L->g->path;
	const char *offset = NULL, *length = NULL;
	memset(r, 0, sizeof *r);
	for (size_t i = 0; i < tp->n_external_data; i++) {
		const Onnx__StringStringEntryProto *e = tp->external_data[i];
		const char *k = e->key ? e->key : "", **slot = NULL;
		if (!strcmp(k, "location"))
			slot = &r->location;
		else if (!strcmp(k, "offset"))
			slot = &offset;
		else if (!strcmp(k, "length"))
			slot = &length;
		if (!slot)
			continue;
		if (*slot)
			return effc_fail(L->d, EFFC_ERR_INVALID, "%s: %s '%s': external data key '%s' is given twice",
					 path, what, name, k);
		*slot = e->value ? e->value : "";
	}
	if (!r->location)
		return effc_fail(L->d, EFFC_ERR_INVALID, "%s: %s '%s': external data has no 'location' entry", path,
				 what, name);
	const char *why = bad_location(r->location);
	if (why)
		return effc_fail(L->d, EFFC_ERR_INVALID, "%s: %s '%s': external data location '%s' %s", path, what,
				 name, r->location, why);
	if (offset && parse_u64(offset, &r->offset))
		return effc_fail(L->d, EFFC_ERR_INVALID, "%s: %s '%s': external data offset '%s' is not a byte count",
				 path, what, name, offset);
	if (length && parse_u64(length, &r->length))
		return effc_fail(L->d, EFFC_ERR_INVALID, "%s: %s '%s': external data length '%s' is not a byte count",
				 path, what, name, length);
	r->has_length = length != NULL;
	return EFFC_OK;
}

/* dir/location, malloc'd; NULL on OOM. */
static char *join_path(const char *dir, const char *location)
{
	size_t a = strlen(dir), b = strlen(location);
	char *p = malloc(a + b + 2);
	if (p) {
		memcpy(p, dir, a);
		p[a] = '/';
		memcpy(p + a + 1, location, b + 1);
	}
	return p;
}

/* Finds the bytes of an external tensor: checks the location, resolves symlinks and requires
 * the result to stay under the model's directory (checked again on the file once open, so a
 * symlink planted in between cannot lead out), maps the file (once per load) and checks the
 * range. *src stays valid until the load ends. */
static enum effc_status load_external(struct loader *L, const Onnx__TensorProto *tp, const char *what, const char *name,
				      const void **src, size_t *len)
{
	const char *path = L->g->path;
	struct ext_ref r;
	enum effc_status st = parse_ext_ref(L, tp, what, name, &r);
	if (st)
		return st;
	if (!L->dir)
		return effc_fail(L->d, EFFC_ERR_UNSUPPORTED,
				 "%s: %s '%s': external data '%s' needs the model's directory (loaded from memory)",
				 path, what, name, r.location);
	if (!L->dir_real && !(L->dir_real = realpath(L->dir, NULL)))
		return effc_fail(L->d, EFFC_ERR_IO, "%s: %s '%s': cannot resolve the model's directory '%s': %s", path,
				 what, name, L->dir, strerror(errno));
	char *joined = join_path(L->dir, r.location);
	if (!joined)
		return effc_fail(L->d, EFFC_ERR_NOMEM, "out of memory");
	char *real = realpath(joined, NULL);
	int err = errno;
	free(joined);
	if (!real)
		return effc_fail(L->d, EFFC_ERR_IO, "%s: %s '%s': external data file '%s' cannot be opened: %s", path,
				 what, name, r.location, strerror(err));
	size_t dl = strlen(L->dir_real);
	int inside = !strncmp(real, L->dir_real, dl) && (real[dl] == '/' || (dl == 1 && L->dir_real[0] == '/'));
	if (!inside) {
		st = effc_fail(L->d, EFFC_ERR_INVALID,
			       "%s: %s '%s': external data file '%s' resolves to '%s', outside the model's directory "
			       "(a symlink may not lead out of it)",
			       path, what, name, r.location, real);
		free(real);
		return st;
	}
	struct ext_file *f = NULL;
	for (int i = 0; i < L->n_ext && !f; i++)
		if (!strcmp(L->ext[i].real, real))
			f = &L->ext[i];
	if (f) {
		free(real);
	} else {
		if (L->n_ext == L->cap_ext) {
			int cap = L->cap_ext ? 2 * L->cap_ext : 4;
			struct ext_file *e = realloc(L->ext, (size_t)cap * sizeof *e);
			if (!e) {
				free(real);
				return effc_fail(L->d, EFFC_ERR_NOMEM, "out of memory");
			}
			L->ext = e, L->cap_ext = cap;
		}
		struct effc_diag inner = {{0}, EFFC_OK};
		f = &L->ext[L->n_ext];
		f->real = real;
		if ((st = effc_map_file_within(real, L->dir_real, &f->data, &f->size, &inner))) {
			free(real);
			return effc_fail(L->d, st, "%s: %s '%s': external data file '%s': %s", path, what, name,
					 r.location, inner.msg);
		}
		L->n_ext++;
	}
	/* offset + length is compared as length > size - offset so a huge pair cannot wrap. */
	if (r.offset > f->size)
		return effc_fail(L->d, EFFC_ERR_INVALID,
				 "%s: %s '%s': external data offset %" PRIu64 " is past the end of '%s' (%zu bytes)",
				 path, what, name, r.offset, r.location, f->size);
	uint64_t rest = f->size - r.offset;
	if (!r.has_length)
		r.length = rest; /* ONNX: without a length the data runs to the end of the file */
	if (r.length > rest)
		return effc_fail(L->d, EFFC_ERR_INVALID,
				 "%s: %s '%s': external data range offset %" PRIu64 " + length %" PRIu64
				 " runs past the end of '%s' (%zu bytes)",
				 path, what, name, r.offset, r.length, r.location, f->size);
	*src = (const char *)f->data + r.offset;
	*len = (size_t)r.length;
	return EFFC_OK;
}

static void loader_release(struct loader *L)
{
	for (int i = 0; i < L->n_ext; i++) {
		effc_unmap_file(L->ext[i].data, L->ext[i].size);
		free(L->ext[i].real);
	}
	free(L->ext);
	free(L->dir_real);
	L->ext = NULL, L->dir_real = NULL, L->n_ext = L->cap_ext = 0;
}

/* ---- tensors --------------------------------------------------------------------------- */

static enum effc_status load_tensor_data(struct loader *L, int id, const Onnx__TensorProto *tp, const char *what)
{
	struct effc_graph *g = L->g;
	struct effc_tensor *t = &g->t[id];
	if (tp->n_dims > EFFC_MAX_RANK)
		return effc_fail(L->d, EFFC_ERR_UNSUPPORTED, "%s: %s '%s' has rank %zu; effc supports up to %d",
				 g->path, what, t->name, tp->n_dims, EFFC_MAX_RANK);
	int external = tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
	int32_t dt = tp->has_data_type ? tp->data_type : 0;
	t->rank = (int)tp->n_dims;
	int64_t numel = 1;
	for (size_t i = 0; i < tp->n_dims; i++) {
		if (tp->dims[i] < 0 || (tp->dims[i] > 0 && numel > INT64_MAX / 4 / tp->dims[i]))
			return effc_fail(L->d, EFFC_ERR_INVALID, "%s: %s '%s': invalid dimension %" PRId64, g->path,
					 what, t->name, tp->dims[i]);
		t->dims[i] = tp->dims[i];
		numel *= tp->dims[i];
	}
	size_t esize;
	if (dt == 2 || dt == 3) /* uint8, int8: a quantized model's weights and zero points */
		esize = 1;
	else if (dt == 1 || dt == 6)
		esize = 4;
	else if (dt == 7 || dt == 11)
		esize = 8;
	else
		return effc_fail(L->d, EFFC_ERR_UNSUPPORTED,
				 "%s: %s '%s' has type %s%s; effc supports float32, int8/uint8/int32 quantization data and "
				 "int64 shapes", g->path, what,
				 t->name, dtype_name(dt), external ? " (in external data)" : "");
	size_t have;
	const void *src = NULL;
	size_t src_len = 0;
	const char *src_what = "raw_data";
	if (external) {
		/* The spec keeps inline payloads empty then; a tensor with both is ambiguous. */
		if (tp->has_raw_data || tp->n_float_data || tp->n_int32_data || tp->n_int64_data || tp->n_double_data)
			return effc_fail(L->d, EFFC_ERR_INVALID, "%s: %s '%s' has both external data and inline data",
					 g->path, what, t->name);
		enum effc_status st = load_external(L, tp, what, t->name, &src, &src_len);
		if (st)
			return st;
		src_what = "external data";
	} else if (tp->has_raw_data) {
		src = tp->raw_data.data;
		src_len = tp->raw_data.len;
	}
	if (external || tp->has_raw_data) {
		if (src_len % esize)
			return effc_fail(L->d, EFFC_ERR_INVALID, "%s: %s '%s': %s has %zu bytes, not a multiple of %zu",
					 g->path, what, t->name, src_what, src_len, esize);
		have = src_len / esize;
	} else if (dt == 1) {
		have = tp->n_float_data;
	} else if (dt == 6 || dt == 2 || dt == 3) { /* ONNX keeps 8-bit values in int32_data */
		have = tp->n_int32_data;
	} else if (dt == 7) {
		have = tp->n_int64_data;
	} else {
		have = tp->n_double_data;
	}
	if (have != (size_t)numel) {
		if (external)
			return effc_fail(L->d, EFFC_ERR_INVALID,
					 "%s: %s '%s': dims say %" PRId64 " elements (%" PRId64
					 " bytes), external data has %zu bytes",
					 g->path, what, t->name, numel, numel * (int64_t)esize, src_len);
		return effc_fail(L->d, EFFC_ERR_INVALID, "%s: %s '%s': dims say %" PRId64 " elements, data has %zu",
				 g->path, what, t->name, numel, have);
	}
	int is_float = dt == 1 || dt == 11 || dt == 2 || dt == 3;
	t->dtype = is_float ? EFFC_F32 : EFFC_I64;
	t->qtype = dt == 2 || dt == 3 ? dt : 0; /* 8-bit values held as floats, exactly */
	size_t bytes = (size_t)numel * (is_float ? 4 : 8);
	/* The cap is checked before the copy: an external tensor can be many GB. */
	if (L->in_initializers && L->o->max_weight_bytes &&
	    (L->weight_bytes += bytes) > L->o->max_weight_bytes)
		return effc_fail(L->d, EFFC_ERR_UNSUPPORTED,
				 "%s: initializers exceed %llu MiB at '%s' (raise the cap with --max-weights-mb)",
				 g->path, (unsigned long long)(L->o->max_weight_bytes >> 20), t->name);
	void *out = effc_arena_alloc(g->arena, bytes);
	if (!out)
		return effc_fail(L->d, EFFC_ERR_NOMEM, "%s: out of memory for %s '%s'", g->path, what, t->name);
	for (int64_t i = 0; i < numel; i++) {
		/* Little-endian raw data is copied bytewise so unaligned payloads are fine. */
		if (dt == 1) {
			float v;
			if (src)
				memcpy(&v, (const char *)src + 4 * i, 4);
			else
				v = tp->float_data[i];
			((float *)out)[i] = v;
		} else if (dt == 11) {
			double v;
			if (src)
				memcpy(&v, (const char *)src + 8 * i, 8);
			else
				v = tp->double_data[i];
			((float *)out)[i] = (float)v;
		} else if (dt == 2 || dt == 3) {
			int32_t v;
			if (src)
				v = dt == 2 ? (int32_t)((const uint8_t *)src)[i] : (int32_t)((const int8_t *)src)[i];
			else
				v = tp->int32_data[i];
			if (v < (dt == 2 ? 0 : -128) || v > (dt == 2 ? 255 : 127))
				return effc_fail(L->d, EFFC_ERR_INVALID, "%s: %s '%s': %s value %d out of range", g->path,
						 what, t->name, dtype_name(dt), (int)v);
			((float *)out)[i] = (float)v;
		} else if (dt == 6) {
			int32_t v;
			if (src)
				memcpy(&v, (const char *)src + 4 * i, 4);
			else
				v = tp->int32_data[i];
			((int64_t *)out)[i] = v;
		} else {
			int64_t v;
			if (src)
				memcpy(&v, (const char *)src + 8 * i, 8);
			else
				v = tp->int64_data[i];
			((int64_t *)out)[i] = v;
		}
	}
	t->data = out;
	return EFFC_OK;
}

static enum effc_status load_value_info(struct loader *L, int id, const Onnx__ValueInfoProto *vi)
{
	struct effc_graph *g = L->g;
	struct effc_tensor *t = &g->t[id];
	const Onnx__TypeProto *tp = vi->type;
	if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type)
		return effc_fail(L->d, EFFC_ERR_UNSUPPORTED, "%s: graph input '%s' is not a tensor", g->path, vi->name);
	const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
	int32_t et = tt->has_elem_type ? tt->elem_type : 0;
	if (et != 1 && et != 2 && et != 3)
		return effc_fail(L->d, EFFC_ERR_UNSUPPORTED,
				 "%s: graph input '%s' has type %s; effc supports float32 inputs, and uint8/int8 ones of "
				 "quantized models",
				 g->path, vi->name, dtype_name(et));
	/* An 8-bit input (a quantized model's) is read as floats holding its integer values, as
	 * the loader holds 8-bit initializers; lower-qdq checks that only DequantizeLinear reads it. */
	t->qtype = et == 1 ? 0 : et;
	if (!tt->shape)
		return effc_fail(L->d, EFFC_ERR_UNSUPPORTED, "%s: graph input '%s' has no shape; effc needs static shapes",
				 g->path, vi->name);
	if (tt->shape->n_dim > EFFC_MAX_RANK)
		return effc_fail(L->d, EFFC_ERR_UNSUPPORTED, "%s: graph input '%s' has rank %zu; effc supports up to %d",
				 g->path, vi->name, tt->shape->n_dim, EFFC_MAX_RANK);
	t->rank = (int)tt->shape->n_dim;
	int64_t numel = 1;
	for (int i = 0; i < t->rank; i++) {
		const Onnx__TensorShapeProto__Dimension *dim = tt->shape->dim[i];
		if (dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE && dim->dim_value <= 0)
			return effc_fail(L->d, EFFC_ERR_INVALID, "%s: graph input '%s': dimension %d is %" PRId64 "; must be positive",
					 g->path, vi->name, i, dim->dim_value);
		if (dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
			if (dim->dim_value > (int64_t)1 << 31)
				return effc_fail(L->d, EFFC_ERR_INVALID, "%s: graph input '%s': dimension %d is %" PRId64
						 ", too large", g->path, vi->name, i, dim->dim_value);
			t->dims[i] = dim->dim_value;
		} else if (i == 0) {
			t->dims[i] = L->o->batch; /* symbolic (or unset) batch */
		} else {
			return effc_fail(L->d, EFFC_ERR_UNSUPPORTED,
					 "%s: graph input '%s': dimension %d is symbolic ('%s'); only the batch may be",
					 g->path, vi->name, i,
					 dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM ? dim->dim_param : "?");
		}
		if (numel > ((int64_t)1 << 40) / t->dims[i])
			return effc_fail(L->d, EFFC_ERR_UNSUPPORTED, "%s: graph input '%s' is too large (over 2^40 elements)",
					 g->path, vi->name);
		numel *= t->dims[i];
	}
	t->is_input = 1;
	return EFFC_OK;
}

/* ---- attributes ------------------------------------------------------------------------ */

static const Onnx__AttributeProto *find_attr(const Onnx__NodeProto *np, const char *name)
{
	for (size_t i = 0; i < np->n_attribute; i++)
		if (np->attribute[i]->name && strcmp(np->attribute[i]->name, name) == 0)
			return np->attribute[i];
	return NULL;
}

struct attr_ctx {
	struct loader *L;
	const Onnx__NodeProto *np;
	struct effc_node *n;
	enum effc_status st;
};

static int bad_attr(struct attr_ctx *c, const char *name, const char *want)
{
	if (c->st == EFFC_OK)
		c->st = effc_node_fail(c->L->d, c->L->g, c->n, EFFC_ERR_INVALID, "attribute '%s' must be %s", name, want);
	return 0;
}

static int64_t attr_i(struct attr_ctx *c, const char *name, int64_t def)
{
	const Onnx__AttributeProto *a = find_attr(c->np, name);
	if (!a)
		return def;
	if (!a->has_i && a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT)
		return bad_attr(c, name, "an int");
	return a->i;
}

static float attr_f(struct attr_ctx *c, const char *name, float def)
{
	const Onnx__AttributeProto *a = find_attr(c->np, name);
	if (!a)
		return def;
	if (!a->has_f && a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT)
		return bad_attr(c, name, "a float");
	return a->f;
}

/* Returns the count, or -1 when absent. */
static int attr_ints(struct attr_ctx *c, const char *name, int64_t *out, int max)
{
	const Onnx__AttributeProto *a = find_attr(c->np, name);
	if (!a)
		return -1;
	if (a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS && a->n_ints == 0)
		return bad_attr(c, name, "a list of ints"), -1;
	if (a->n_ints > (size_t)max) {
		if (c->st == EFFC_OK)
			c->st = effc_node_fail(c->L->d, c->L->g, c->n, EFFC_ERR_UNSUPPORTED,
					       "attribute '%s' has %zu values; at most %d supported", name, a->n_ints, max);
		return -1;
	}
	for (size_t i = 0; i < a->n_ints; i++)
		out[i] = a->ints[i];
	return (int)a->n_ints;
}

static const char *attr_s(struct attr_ctx *c, const char *name, const char *def)
{
	const Onnx__AttributeProto *a = find_attr(c->np, name);
	if (!a)
		return def;
	if (!a->has_s && a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING)
		return bad_attr(c, name, "a string"), def;
	char *s = effc_arena_alloc(c->L->g->arena, a->s.len + 1);
	if (!s)
		return def;
	if (a->s.len)
		memcpy(s, a->s.data, a->s.len);
	return s;
}

static enum effc_status load_attrs(struct loader *L, const Onnx__NodeProto *np, struct effc_node *n)
{
	struct attr_ctx c = {L, np, n, EFFC_OK};
	struct effc_attrs *a = &n->a;
	switch (n->op) {
	case EFFC_OP_CONV: {
		int64_t k[4];
		int nk = attr_ints(&c, "kernel_shape", k, 4);
		if (nk > 0 && nk != 2)
			return effc_node_fail(L->d, L->g, n, EFFC_ERR_UNSUPPORTED, "only 2-D convolution is supported (kernel_shape has %d dims)", nk);
		a->kernel[0] = nk == 2 ? k[0] : 0;
		a->kernel[1] = nk == 2 ? k[1] : 0;
		a->strides[0] = a->strides[1] = a->dilations[0] = a->dilations[1] = 1;
		int64_t v[4];
		int nv = attr_ints(&c, "strides", v, 4);
		if (nv == 2)
			a->strides[0] = v[0], a->strides[1] = v[1];
		else if (nv >= 0)
			return effc_node_fail(L->d, L->g, n, EFFC_ERR_UNSUPPORTED, "strides has %d values; only 2-D convolution is supported", nv);
		nv = attr_ints(&c, "dilations", v, 4);
		if (nv == 2)
			a->dilations[0] = v[0], a->dilations[1] = v[1];
		else if (nv >= 0)
			return effc_node_fail(L->d, L->g, n, EFFC_ERR_UNSUPPORTED, "dilations has %d values; only 2-D convolution is supported", nv);
		nv = attr_ints(&c, "pads", a->pads, 4);
		if (nv >= 0 && nv != 4)
			return effc_node_fail(L->d, L->g, n, EFFC_ERR_UNSUPPORTED, "pads has %d values; only 2-D convolution is supported", nv);
		a->group = attr_i(&c, "group", 1);
		const char *ap = attr_s(&c, "auto_pad", "NOTSET");
		if (!strcmp(ap, "NOTSET"))
			a->auto_pad = 0;
		else if (!strcmp(ap, "SAME_UPPER"))
			a->auto_pad = 1;
		else if (!strcmp(ap, "SAME_LOWER"))
			a->auto_pad = 2;
		else if (!strcmp(ap, "VALID"))
			a->auto_pad = 3;
		else
			return effc_node_fail(L->d, L->g, n, EFFC_ERR_INVALID, "unknown auto_pad '%s'", ap);
		break;
	}
	case EFFC_OP_BATCHNORM:
		a->epsilon = attr_f(&c, "epsilon", 1e-5f);
		a->training = attr_i(&c, "training_mode", 0) || (n->a.opset < 7 && attr_i(&c, "is_test", 0) == 0);
		if (find_attr(np, "spatial") && attr_i(&c, "spatial", 1) != 1)
			return effc_node_fail(L->d, L->g, n, EFFC_ERR_UNSUPPORTED, "spatial=0 is not supported");
		break;
	case EFFC_OP_REDUCEMEAN:
	case EFFC_OP_REDUCEPROD:
		a->keepdims = attr_i(&c, "keepdims", 1);
		a->n_axes = attr_ints(&c, "axes", a->axes, EFFC_MAX_RANK);
		a->has_axes = a->n_axes >= 0;
		if (a->n_axes < 0)
			a->n_axes = 0;
		a->allowzero = attr_i(&c, "noop_with_empty_axes", 0);
		break;
	case EFFC_OP_SQUEEZE:
	case EFFC_OP_UNSQUEEZE:
		a->n_axes = attr_ints(&c, "axes", a->axes, EFFC_MAX_RANK);
		a->has_axes = a->n_axes >= 0;
		if (a->n_axes < 0)
			a->n_axes = 0;
		break;
	case EFFC_OP_FLATTEN:
	case EFFC_OP_QUANTIZELINEAR:
	case EFFC_OP_DEQUANTIZELINEAR:
		a->axis = attr_i(&c, "axis", 1);
		break;
	case EFFC_OP_SOFTMAX:
		a->axis = attr_i(&c, "axis", n->a.opset >= 13 ? -1 : 1);
		break;
	case EFFC_OP_RESHAPE:
		a->allowzero = attr_i(&c, "allowzero", 0);
		a->n_axes = attr_ints(&c, "shape", a->axes, EFFC_MAX_RANK); /* opset < 5: shape attribute */
		break;
	case EFFC_OP_GEMM:
		a->alpha = attr_f(&c, "alpha", 1.0f);
		a->beta = attr_f(&c, "beta", 1.0f);
		a->trans_a = attr_i(&c, "transA", 0);
		a->trans_b = attr_i(&c, "transB", 0);
		break;
	case EFFC_OP_CLIP:
		a->clip_min = attr_f(&c, "min", -INFINITY);
		a->clip_max = attr_f(&c, "max", INFINITY);
		break;
	case EFFC_OP_HARDSIGMOID:
		a->alpha = attr_f(&c, "alpha", 0.2f);
		a->beta = attr_f(&c, "beta", 0.5f);
		break;
	case EFFC_OP_TRANSPOSE:
		a->n_perm = attr_ints(&c, "perm", a->perm, EFFC_MAX_RANK);
		break;
	case EFFC_OP_DROPOUT:
		a->training = attr_i(&c, "is_test", 1) == 0 && n->a.opset < 7;
		break;
	case EFFC_OP_PAD: {
		a->mode = attr_s(&c, "mode", "constant");
		if (strcmp(a->mode, "constant") != 0)
			return effc_node_fail(L->d, L->g, n, EFFC_ERR_UNSUPPORTED, "Pad mode '%s' is not supported (constant only)", a->mode);
		a->pad_value = attr_f(&c, "value", 0.0f);
		int np_ = attr_ints(&c, "pads", a->pad_pads, 2 * EFFC_MAX_RANK);
		a->n_perm = np_; /* pads count when given as an attribute (opset < 11) */
		break;
	}
	/* Shape-value ops (evaluated at compile time; see effc_fold_shape_node). */
	case EFFC_OP_SHAPE:
		a->start = attr_i(&c, "start", 0);
		a->has_end = find_attr(np, "end") != NULL;
		a->end = attr_i(&c, "end", 0);
		break;
	case EFFC_OP_GATHER:
		a->axis = attr_i(&c, "axis", 0);
		break;
	case EFFC_OP_CONCAT:
		if (!find_attr(np, "axis"))
			return effc_node_fail(L->d, L->g, n, EFFC_ERR_INVALID, "attribute 'axis' is required");
		a->axis = attr_i(&c, "axis", 0);
		break;
	case EFFC_OP_CAST:
		if (!find_attr(np, "to"))
			return effc_node_fail(L->d, L->g, n, EFFC_ERR_INVALID, "attribute 'to' is required");
		a->to = (int)attr_i(&c, "to", 0);
		break;
	case EFFC_OP_SLICE: /* opset < 10: starts, ends, axes are attributes */
		a->n_starts = attr_ints(&c, "starts", a->starts, EFFC_MAX_RANK);
		a->n_ends = attr_ints(&c, "ends", a->ends, EFFC_MAX_RANK);
		a->n_axes = attr_ints(&c, "axes", a->axes, EFFC_MAX_RANK);
		a->has_axes = a->n_axes >= 0;
		break;
	case EFFC_OP_CONSTANTOFSHAPE: {
		/* The value attribute (a one-element tensor) becomes a constant second input. */
		const Onnx__AttributeProto *v = find_attr(np, "value");
		if (!v)
			break;
		if (!v->t)
			return bad_attr(&c, "value", "a tensor"), c.st;
		if (n->n_in != 1)
			return effc_node_fail(L->d, L->g, n, EFFC_ERR_INVALID, "needs exactly one input, has %d", n->n_in);
		const char *vname = effc_arena_printf(L->g->arena, "%s.value", n->name);
		int id = vname ? effc_graph_add_tensor(L->g, vname) : -1;
		if (id < 0)
			return effc_fail(L->d, EFFC_ERR_NOMEM, "out of memory");
		enum effc_status st = load_tensor_data(L, id, v->t, "value attribute");
		if (st)
			return st;
		n->in[n->n_in++] = id;
		break;
	}
	default:
		break;
	}
	return c.st;
}

/* ---- nodes ----------------------------------------------------------------------------- */

/* A Constant node becomes an initializer-like tensor. */
static enum effc_status load_constant(struct loader *L, const Onnx__NodeProto *np, const char *name)
{
	struct effc_graph *g = L->g;
	if (np->n_output != 1)
		return effc_fail(L->d, EFFC_ERR_INVALID, "%s: node '%s' (Constant): needs exactly one output", g->path, name);
	if (effc_graph_find_tensor(g, np->output[0]) >= 0)
		return effc_fail(L->d, EFFC_ERR_INVALID, "%s: node '%s' (Constant): output '%s' is produced twice",
				 g->path, name, np->output[0]);
	int id = effc_graph_add_tensor(g, np->output[0]);
	if (id < 0)
		return effc_fail(L->d, EFFC_ERR_NOMEM, "out of memory");
	const Onnx__AttributeProto *a = np->n_attribute == 1 ? np->attribute[0] : NULL;
	if (a && a->t && !strcmp(a->name, "value"))
		return load_tensor_data(L, id, a->t, "constant");
	struct effc_tensor *t = &g->t[id];
	if (a && !strcmp(a->name, "value_float") && a->has_f) {
		float *p = effc_arena_alloc(g->arena, 4);
		if (!p)
			return effc_fail(L->d, EFFC_ERR_NOMEM, "out of memory");
		*p = a->f, t->data = p, t->rank = 0;
		return EFFC_OK;
	}
	if (a && !strcmp(a->name, "value_floats")) {
		float *p = effc_arena_alloc(g->arena, a->n_floats * 4);
		if (!p)
			return effc_fail(L->d, EFFC_ERR_NOMEM, "out of memory");
		if (a->n_floats)
			memcpy(p, a->floats, a->n_floats * 4);
		t->data = p, t->rank = 1, t->dims[0] = (int64_t)a->n_floats;
		return EFFC_OK;
	}
	if (a && (!strcmp(a->name, "value_int") || !strcmp(a->name, "value_ints"))) {
		int scalar = a->name[9] == 0;
		size_t cnt = scalar ? 1 : a->n_ints;
		int64_t *p = effc_arena_alloc(g->arena, cnt * 8);
		if (!p)
			return effc_fail(L->d, EFFC_ERR_NOMEM, "out of memory");
		if (scalar)
			p[0] = a->i;
		else if (cnt)
			memcpy(p, a->ints, cnt * 8);
		t->data = p, t->dtype = EFFC_I64, t->rank = scalar ? 0 : 1, t->dims[0] = (int64_t)cnt;
		return EFFC_OK;
	}
	if (!a)
		return effc_fail(L->d, EFFC_ERR_INVALID, "%s: node '%s' (Constant): has no value attribute", g->path, name);
	return effc_fail(L->d, EFFC_ERR_UNSUPPORTED, "%s: node '%s' (Constant): unsupported value attribute '%s'",
			 g->path, name, a->name);
}

/* ---- QOperator ops ------------------------------------------------------------------------ */

/* A QOperator-format op (QLinearConv, QLinearMatMul; com.microsoft's QLinearAdd, QLinearMul,
 * QLinearSigmoid, QLinearGlobalAveragePool, which ONNX Runtime's quantizer writes) is loaded as
 * what it means: DequantizeLinear of each quantized input, the float op, QuantizeLinear of the
 * output. lower-qdq then treats the model as a QDQ one. The parts are named after the node
 * ("conv1/x", "conv1/w", ...) so a message about one names it. */
struct qop {
	struct loader *L;
	const Onnx__NodeProto *np;
	const char *name;
};

/* Input i of the node, or -1 if absent; *st set on a dangling name. */
static int qop_in(struct qop *q, size_t i, enum effc_status *st)
{
	if (i >= q->np->n_input || !q->np->input[i][0])
		return -1;
	int t = effc_graph_find_tensor(q->L->g, q->np->input[i]);
	if (t < 0 && !*st)
		*st = effc_fail(q->L->d, EFFC_ERR_INVALID,
				"%s: node '%s' (%s): input '%s' is never produced (not a graph input, initializer or earlier "
				"node output)",
				q->L->g->path, q->name, q->np->op_type, q->np->input[i]);
	return t;
}

/* A node op(in[0..n_in)) named NAME/part writing a new tensor of that name (or the node's
 * output when out_name is given); returns the output tensor, or -1 (*st set). */
static int qop_add(struct qop *q, enum effc_op op, const char *part, const int *in, int n_in, const char *out_name,
		   int64_t axis, enum effc_status *st)
{
	struct effc_graph *g = q->L->g;
	if (*st)
		return -1;
	const char *nm = part ? effc_arena_printf(g->arena, "%s/%s", q->name, part) : q->name;
	int id = nm ? effc_graph_add_node(g, op, nm) : -1;
	if (id >= 0 && out_name && effc_graph_find_tensor(g, out_name) >= 0) {
		*st = effc_node_fail(q->L->d, g, &g->n[id], EFFC_ERR_INVALID, "output '%s' is produced twice", out_name);
		return -1;
	}
	int t = id >= 0 ? effc_graph_add_tensor(g, out_name ? out_name : nm) : -1;
	if (t < 0) {
		*st = effc_fail(q->L->d, EFFC_ERR_NOMEM, "out of memory");
		return -1;
	}
	struct effc_node *n = &g->n[id];
	n->n_in = n_in;
	for (int i = 0; i < n_in; i++)
		n->in[i] = in[i];
	n->n_out = 1;
	n->out[0] = t;
	n->a.axis = axis;
	g->t[t].producer = id;
	g->t[t].from_onnx = out_name != NULL;
	if (op == EFFC_OP_CONV || op == EFFC_OP_GLOBALAVGPOOL)
		*st = load_attrs(q->L, q->np, n); /* the QLinear op's kernel_shape, pads, ... */
	return t;
}

/* Returns 1 if op_type is a QOperator op (loaded, or failed with *st set), 0 otherwise. */
static int load_qoperator(struct loader *L, const Onnx__NodeProto *np, const char *name, const char *op_type,
			  int ms_domain, enum effc_status *st)
{
	static const struct {
		const char *type;
		enum effc_op op;
		int n_q;   /* quantized inputs (x, scale, zero point each) */
		int ms;    /* com.microsoft domain */
	} table[] = {
		{"QLinearConv", EFFC_OP_CONV, 2, 0},         {"QLinearMatMul", EFFC_OP_MATMUL, 2, 0},
		{"QLinearAdd", EFFC_OP_ADD, 2, 1},           {"QLinearMul", EFFC_OP_MUL, 2, 1},
		{"QLinearSigmoid", EFFC_OP_SIGMOID, 1, 1},   {"QLinearGlobalAveragePool", EFFC_OP_GLOBALAVGPOOL, 1, 1},
	};
	int k = -1;
	for (int i = 0; i < (int)(sizeof table / sizeof *table) && k < 0; i++)
		if (!strcmp(op_type, table[i].type) && table[i].ms == ms_domain)
			k = i;
	if (k < 0)
		return 0;
	struct effc_graph *g = L->g;
	struct qop q = {L, np, name};
	*st = EFFC_OK;
	const int n_q = table[k].n_q;
	if (np->n_output != 1 || !np->output[0][0]) {
		*st = effc_fail(L->d, EFFC_ERR_INVALID, "%s: node '%s' (%s): needs exactly one output", g->path, name, op_type);
		return 1;
	}
	if (k == 5 && (find_attr(np, "channels_last") && find_attr(np, "channels_last")->i)) {
		*st = effc_fail(L->d, EFFC_ERR_UNSUPPORTED, "%s: node '%s' (%s): channels_last=1 is not supported", g->path, name,
				op_type);
		return 1;
	}
	/* inputs: (x, scale, zp) per quantized input, then the output's scale and zero point, then
	 * QLinearConv's optional int32 bias */
	int deq[2] = {-1, -1};
	static const char *const part[2][2] = {{"x", "w"}, {"a", "b"}};
	for (int i = 0; i < n_q; i++) {
		int in[3] = {qop_in(&q, (size_t)(3 * i), st), qop_in(&q, (size_t)(3 * i + 1), st), qop_in(&q, (size_t)(3 * i + 2), st)};
		if (!*st && (in[0] < 0 || in[1] < 0))
			*st = effc_fail(L->d, EFFC_ERR_INVALID, "%s: node '%s' (%s): quantized input %d or its scale is missing",
					g->path, name, op_type, i);
		/* QLinearConv's weights per output channel (axis 0); QLinearMatMul's b per column */
		const int64_t axis = i == 1 && k == 0 ? 0 : i == 1 && k == 1 ? -1 : 1;
		deq[i] = qop_add(&q, EFFC_OP_DEQUANTIZELINEAR, part[k == 0 ? 0 : 1][i], in, in[2] >= 0 ? 3 : 2, NULL, axis, st);
	}
	const int ys = qop_in(&q, (size_t)(3 * n_q), st), yz = qop_in(&q, (size_t)(3 * n_q + 1), st);
	if (!*st && ys < 0)
		*st = effc_fail(L->d, EFFC_ERR_INVALID, "%s: node '%s' (%s): the output scale is missing", g->path, name, op_type);
	int fin[3] = {deq[0], deq[1], -1}, n_fin = n_q;
	const int b = k == 0 ? qop_in(&q, 8, st) : -1;
	if (b >= 0 && !*st) {
		/* The int32 bias at scale x_scale * w_scale[o] (zero point 0), as ONNX defines it. */
		const struct effc_tensor *xs = &g->t[g->n[g->t[deq[0]].producer].in[1]];
		const struct effc_tensor *ws = &g->t[g->n[g->t[deq[1]].producer].in[1]];
		const int64_t o = effc_tensor_numel(ws);
		if (!xs->data || !ws->data || effc_tensor_numel(xs) != 1 || xs->qtype || ws->qtype || xs->dtype != EFFC_F32 ||
		    ws->dtype != EFFC_F32) {
			*st = effc_fail(L->d, EFFC_ERR_UNSUPPORTED,
					"%s: node '%s' (%s): the input's and the weights' scales must be float32 constants "
					"(the input's one value)",
					g->path, name, op_type);
			return 1;
		}
		const int64_t dims[1] = {o};
		int bs = effc_graph_new_const(g, name, "bias_scale", 1, dims);
		if (bs < 0) {
			*st = effc_fail(L->d, EFFC_ERR_NOMEM, "out of memory");
			return 1;
		}
		for (int64_t i = 0; i < o; i++)
			((float *)g->t[bs].data)[i] = ((const float *)xs->data)[0] * ((const float *)ws->data)[i];
		const int bin[2] = {b, bs};
		fin[2] = qop_add(&q, EFFC_OP_DEQUANTIZELINEAR, "bias", bin, 2, NULL, 0, st);
		n_fin = 3;
	}
	const int f = qop_add(&q, table[k].op, "float", fin, n_fin, NULL, 0, st);
	const int qin[3] = {f, ys, yz};
	qop_add(&q, EFFC_OP_QUANTIZELINEAR, NULL, qin, yz >= 0 ? 3 : 2, np->output[0], 1, st);
	return 1;
}

static enum effc_status load_node(struct loader *L, const Onnx__NodeProto *np, int index)
{
	struct effc_graph *g = L->g;
	const char *op_type = np->op_type ? np->op_type : "";
	if (!*op_type)
		return effc_fail(L->d, EFFC_ERR_INVALID, "%s: node '%s' has no op_type", g->path,
				 np->name && *np->name ? np->name : "(unnamed)");
	const char *name = np->name && *np->name ? np->name
						   : effc_arena_printf(g->arena, "%s_%d", op_type, index);
	if (!name)
		return effc_fail(L->d, EFFC_ERR_NOMEM, "out of memory");
	const int ms = np->domain && !strcmp(np->domain, "com.microsoft");
	enum effc_status qst;
	if (load_qoperator(L, np, name, op_type, ms, &qst))
		return qst;
	if (np->domain && *np->domain && strcmp(np->domain, "ai.onnx") != 0)
		return effc_fail(L->d, EFFC_ERR_UNSUPPORTED, "%s: node '%s' (%s): domain '%s' is not supported (opset %d)",
				 g->path, name, op_type, np->domain, g->opset);
	if (!strcmp(op_type, "Constant"))
		return load_constant(L, np, name);
	int op = effc_op_from_onnx(op_type);
	if (op < 0)
		return effc_fail(L->d, EFFC_ERR_UNSUPPORTED, "%s: node '%s' (%s): operator %s is not supported (opset %d)",
				 g->path, name, op_type, op_type, g->opset);
	if (np->n_input > EFFC_MAX_IO || np->n_output > EFFC_MAX_IO)
		return effc_fail(L->d, EFFC_ERR_UNSUPPORTED, "%s: node '%s' (%s): too many inputs or outputs",
				 g->path, name, op_type);
	int id = effc_graph_add_node(g, (enum effc_op)op, name);
	if (id < 0)
		return effc_fail(L->d, EFFC_ERR_NOMEM, "out of memory");
	struct effc_node *n = &g->n[id];
	n->n_in = (int)np->n_input;
	for (size_t i = 0; i < np->n_input; i++) {
		if (!np->input[i][0]) {
			n->in[i] = -1; /* absent optional input */
			continue;
		}
		int t = effc_graph_find_tensor(g, np->input[i]);
		if (t < 0)
			return effc_node_fail(L->d, g, n, EFFC_ERR_INVALID,
					      "input '%s' is never produced (not a graph input, initializer or earlier node output)",
					      np->input[i]);
		n->in[i] = t;
	}
	n->n_out = (int)np->n_output;
	for (size_t i = 0; i < np->n_output; i++) {
		if (!np->output[i][0]) {
			n->out[i] = -1;
			continue;
		}
		if (effc_graph_find_tensor(g, np->output[i]) >= 0)
			return effc_node_fail(L->d, g, n, EFFC_ERR_INVALID, "output '%s' is produced twice", np->output[i]);
		int t = effc_graph_add_tensor(g, np->output[i]);
		if (t < 0)
			return effc_fail(L->d, EFFC_ERR_NOMEM, "out of memory");
		g->n[id].out[i] = t;
		g->t[t].producer = id;
		g->t[t].from_onnx = 1;
	}
	n = &g->n[id];
	if (n->n_out < 1 || n->out[0] < 0)
		return effc_node_fail(L->d, g, n, EFFC_ERR_INVALID, "has no output");
	return load_attrs(L, np, n);
}

static enum effc_status load_model(struct loader *L, const Onnx__ModelProto *m)
{
	struct effc_graph *g = L->g;
	enum effc_status st;
	if (!m->graph)
		return effc_fail(L->d, EFFC_ERR_PARSE, "%s: not an ONNX model (no graph)", g->path);
	g->producer = effc_arena_strdup(g->arena, m->producer_name ? m->producer_name : "");
	g->producer_version = effc_arena_strdup(g->arena, m->producer_version ? m->producer_version : "");
	g->opset = -1;
	for (size_t i = 0; i < m->n_opset_import; i++) {
		const Onnx__OperatorSetIdProto *os = m->opset_import[i];
		if ((!os->domain || !*os->domain || !strcmp(os->domain, "ai.onnx")) && os->has_version)
			g->opset = (int)os->version;
	}
	if (g->opset < 0)
		return effc_fail(L->d, EFFC_ERR_INVALID, "%s: the model imports no default-domain opset", g->path);
	if (g->opset < MIN_OPSET || g->opset > MAX_OPSET)
		return effc_fail(L->d, EFFC_ERR_UNSUPPORTED, "%s: opset %d is not supported (effc handles %d to %d)",
				 g->path, g->opset, MIN_OPSET, MAX_OPSET);
	const Onnx__GraphProto *gp = m->graph;
	if (gp->n_sparse_initializer)
		return effc_fail(L->d, EFFC_ERR_UNSUPPORTED, "%s: sparse initializers are not supported", g->path);
	for (size_t i = 0; i < gp->n_initializer; i++) {
		const Onnx__TensorProto *tp = gp->initializer[i];
		if (!tp->name || !*tp->name)
			return effc_fail(L->d, EFFC_ERR_INVALID, "%s: initializer %zu has no name", g->path, i);
		if (effc_graph_find_tensor(g, tp->name) >= 0)
			return effc_fail(L->d, EFFC_ERR_INVALID, "%s: initializer '%s' is defined twice", g->path, tp->name);
		int id = effc_graph_add_tensor(g, tp->name);
		if (id < 0)
			return effc_fail(L->d, EFFC_ERR_NOMEM, "out of memory");
		L->in_initializers = 1;
		st = load_tensor_data(L, id, tp, "initializer");
		L->in_initializers = 0;
		if (st)
			return st;
	}
	for (size_t i = 0; i < gp->n_input; i++) {
		const Onnx__ValueInfoProto *vi = gp->input[i];
		if (!vi->name || !*vi->name)
			return effc_fail(L->d, EFFC_ERR_INVALID, "%s: graph input %zu has no name", g->path, i);
		int prev = effc_graph_find_tensor(g, vi->name);
		if (prev >= 0 && !g->t[prev].data)
			return effc_fail(L->d, EFFC_ERR_INVALID, "%s: graph input '%s' is listed twice", g->path, vi->name);
		if (prev >= 0)
			continue; /* an initializer listed as input (older exporters): a constant for us */
		if (g->n_inputs == EFFC_MAX_IO)
			return effc_fail(L->d, EFFC_ERR_UNSUPPORTED, "%s: more than %d graph inputs", g->path, EFFC_MAX_IO);
		int id = effc_graph_add_tensor(g, vi->name);
		if (id < 0)
			return effc_fail(L->d, EFFC_ERR_NOMEM, "out of memory");
		if ((st = load_value_info(L, id, vi)))
			return st;
		g->inputs[g->n_inputs++] = id;
	}
	for (size_t i = 0; i < gp->n_node; i++)
		if ((st = load_node(L, gp->node[i], (int)i)))
			return st;
	g->onnx_nodes = (int)gp->n_node;
	if (gp->n_output == 0)
		return effc_fail(L->d, EFFC_ERR_INVALID, "%s: the graph has no outputs", g->path);
	for (size_t i = 0; i < gp->n_output; i++) {
		const char *name = gp->output[i]->name ? gp->output[i]->name : "";
		int id = effc_graph_find_tensor(g, name);
		if (id < 0)
			return effc_fail(L->d, EFFC_ERR_INVALID, "%s: graph output '%s' is never produced", g->path, name);
		if (g->n_outputs == EFFC_MAX_IO)
			return effc_fail(L->d, EFFC_ERR_UNSUPPORTED, "%s: more than %d graph outputs", g->path, EFFC_MAX_IO);
		const Onnx__TypeProto *tp = gp->output[i]->type;
		if (tp && tp->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE && tp->tensor_type &&
		    tp->tensor_type->has_elem_type && tp->tensor_type->elem_type != 1 && tp->tensor_type->elem_type != 2 &&
		    tp->tensor_type->elem_type != 3)
			return effc_fail(L->d, EFFC_ERR_UNSUPPORTED,
					 "%s: graph output '%s' has type %s; effc supports float32 outputs, and uint8/int8 ones "
					 "of quantized models",
					 g->path, name, dtype_name(tp->tensor_type->elem_type));
		for (int k = 0; k < g->n_outputs; k++)
			if (g->outputs[k] == id)
				return effc_fail(L->d, EFFC_ERR_UNSUPPORTED, "%s: graph output '%s' is listed twice", g->path, name);
		g->t[id].is_output = 1;
		g->outputs[g->n_outputs++] = id;
	}
	return EFFC_OK;
}

static enum effc_status load_buffer(struct effc_graph *g, const void *data, size_t size,
				    const struct effc_load_options *o, const char *dir, struct effc_diag *d)
{
	if (size == 0)
		return effc_fail(d, EFFC_ERR_PARSE, "%s: empty file, not an ONNX model", g->path);
	Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, size, data);
	if (!m)
		return effc_fail(d, EFFC_ERR_PARSE, "%s: not an ONNX model (protobuf parse failed: truncated or corrupt file)",
				 g->path);
	struct loader L = {.g = g, .d = d, .o = o, .dir = dir};
	enum effc_status st = load_model(&L, m);
	loader_release(&L); /* the tensors hold copies of the external bytes */
	onnx__model_proto__free_unpacked(m, NULL);
	return st;
}

enum effc_status effc_load_onnx_buffer(struct effc_graph *g, const void *data, size_t size,
				       const struct effc_load_options *o, struct effc_diag *d)
{
	return load_buffer(g, data, size, o, o->external_dir, d);
}

/* The directory part of path, "." when it has none; malloc'd, NULL on OOM. */
static char *path_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return strdup(".");
	size_t n = slash == path ? 1 : (size_t)(slash - path); /* "/m.onnx" lives in "/" */
	char *dir = malloc(n + 1);
	if (dir) {
		memcpy(dir, path, n);
		dir[n] = 0;
	}
	return dir;
}

enum effc_status effc_load_onnx(struct effc_graph *g, const char *path, const struct effc_load_options *o,
				struct effc_diag *d)
{
	const void *buf;
	size_t size;
	enum effc_status st = effc_map_file(path, &buf, &size, d);
	if (st)
		return st;
	char *dir = path_dir(path);
	st = dir ? load_buffer(g, buf, size, o, dir, d) : effc_fail(d, EFFC_ERR_NOMEM, "out of memory");
	free(dir);
	effc_unmap_file(buf, size);
	return st;
}

/* The location of an external tensor, or NULL. */
static const char *ext_location(const Onnx__TensorProto *tp)
{
	if (!tp || !tp->has_data_location || tp->data_location != ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
		return NULL;
	for (size_t k = 0; k < tp->n_external_data; k++)
		if (tp->external_data[k]->key && !strcmp(tp->external_data[k]->key, "location"))
			return tp->external_data[k]->value;
	return NULL;
}

/* Whether one of the first n tensors names location loc (one call per file, not per tensor). */
static int ext_seen(Onnx__TensorProto *const *list, size_t n, const char *loc)
{
	for (size_t i = 0; i < n; i++) {
		const char *l = ext_location(list[i]);
		if (l && !strcmp(l, loc))
			return 1;
	}
	return 0;
}

/* The tensors effc loads, initializers and Constant nodes' value tensors, in a malloc'd array
 * (NULL on OOM). */
static Onnx__TensorProto **loaded_tensors(const Onnx__GraphProto *gp, size_t *n)
{
	size_t cap = gp->n_initializer + gp->n_node;
	Onnx__TensorProto **list = malloc((cap ? cap : 1) * sizeof *list);
	*n = 0;
	for (size_t i = 0; list && i < gp->n_initializer; i++)
		list[(*n)++] = gp->initializer[i];
	for (size_t i = 0; list && i < gp->n_node; i++) {
		const Onnx__NodeProto *np = gp->node[i];
		if (!np->op_type || strcmp(np->op_type, "Constant") != 0)
			continue;
		for (size_t k = 0; k < np->n_attribute; k++)
			if (np->attribute[k]->t) {
				list[(*n)++] = np->attribute[k]->t;
				break;
			}
	}
	return list;
}

enum effc_status effc_onnx_external_files(const char *path, int (*fn)(void *arg, const char *file), void *arg,
					  struct effc_diag *d)
{
	void *buf;
	size_t size;
	enum effc_status st = effc_read_file(path, &buf, &size, d);
	if (st)
		return st;
	Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, size, buf);
	free(buf);
	if (!m || !m->graph) {
		if (m)
			onnx__model_proto__free_unpacked(m, NULL);
		return effc_fail(d, EFFC_ERR_PARSE, "%s: not an ONNX model", path);
	}
	const Onnx__GraphProto *gp = m->graph;
	size_t n;
	Onnx__TensorProto **list = loaded_tensors(gp, &n);
	char *dir = path_dir(path);
	if (!list || !dir) {
		st = effc_fail(d, EFFC_ERR_NOMEM, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < n && !st; i++) {
		const char *loc = ext_location(list[i]);
		if (!loc || !*loc || ext_seen(list, i, loc))
			continue;
		char *file = join_path(dir, loc);
		if (!file) {
			st = effc_fail(d, EFFC_ERR_NOMEM, "out of memory");
			break;
		}
		if (fn(arg, file))
			st = effc_fail(d, EFFC_ERR_IO, "%s: external data file '%s' could not be used", path, loc);
		free(file);
	}
done:
	free(list);
	free(dir);
	onnx__model_proto__free_unpacked(m, NULL);
	return st;
}

enum effc_status effc_onnx_add_outputs(const char *src, const char *dst, const char *const *names, int n,
				       struct effc_diag *d)
{
	void *buf;
	size_t size;
	enum effc_status st = effc_read_file(src, &buf, &size, d);
	if (st)
		return st;
	Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, size, buf);
	free(buf);
	if (!m || !m->graph) {
		if (m)
			onnx__model_proto__free_unpacked(m, NULL);
		return effc_fail(d, EFFC_ERR_PARSE, "%s: not an ONNX model", src);
	}
	Onnx__GraphProto *gp = m->graph;
	/* The copy is written elsewhere (difftest's work directory), where the model's external data
	 * locations would not resolve: its external tensors are inlined as raw_data pointing into
	 * the mapped files, and put back before the free. */
	struct effc_graph pathonly = {.path = src};
	char *dir = path_dir(src);
	struct loader L = {.g = &pathonly, .d = d, .dir = dir};
	struct inlined {
		Onnx__TensorProto *tp;
		ProtobufCBinaryData raw;
		protobuf_c_boolean has_raw;
		size_t n_ext;
	} *saved = calloc(gp->n_initializer + gp->n_node + 1, sizeof *saved);
	size_t n_saved = 0, n_tensors = 0;
	Onnx__TensorProto **tensors = loaded_tensors(gp, &n_tensors);
	/* The extra outputs are declared float tensors of unknown shape; ONNX Runtime fills in
	 * the rest. Freed by hand below: free_unpacked only knows the unpacker's allocations. */
	size_t old_n = gp->n_output;
	Onnx__ValueInfoProto **old = gp->output;
	Onnx__ValueInfoProto **outs = calloc(old_n + (size_t)n, sizeof *outs);
	Onnx__ValueInfoProto *vis = calloc((size_t)n + 1, sizeof *vis);
	Onnx__TypeProto *tps = calloc((size_t)n + 1, sizeof *tps);
	Onnx__TypeProto__Tensor *tts = calloc((size_t)n + 1, sizeof *tts);
	if (!outs || !vis || !tps || !tts || !saved || !dir || !tensors) {
		st = effc_fail(d, EFFC_ERR_NOMEM, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < n_tensors; i++) {
		Onnx__TensorProto *tp = tensors[i];
		if (!ext_location(tp))
			continue;
		const void *bytes;
		size_t len;
		const char *what = i < gp->n_initializer ? "initializer" : "constant";
		if ((st = load_external(&L, tp, what, tp->name ? tp->name : "", &bytes, &len)))
			goto done;
		saved[n_saved++] = (struct inlined){tp, tp->raw_data, tp->has_raw_data, tp->n_external_data};
		tp->raw_data.data = (uint8_t *)bytes;
		tp->raw_data.len = len;
		tp->has_raw_data = 1;
		tp->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__DEFAULT;
		tp->n_external_data = 0;
	}
	memcpy(outs, old, old_n * sizeof *outs);
	size_t k = old_n;
	for (int i = 0; i < n; i++) {
		int dup = 0;
		for (size_t j = 0; j < k; j++)
			dup |= !strcmp(outs[j]->name, names[i]);
		if (dup)
			continue;
		onnx__value_info_proto__init(&vis[i]);
		onnx__type_proto__init(&tps[i]);
		onnx__type_proto__tensor__init(&tts[i]);
		tts[i].has_elem_type = 1;
		tts[i].elem_type = 1;
		tps[i].value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
		tps[i].tensor_type = &tts[i];
		vis[i].name = (char *)names[i];
		vis[i].type = &tps[i];
		outs[k++] = &vis[i];
	}
	gp->output = outs;
	gp->n_output = k;
	size_t packed = onnx__model_proto__get_packed_size(m);
	unsigned char *out = NULL;
	if (packed > INT32_MAX) /* protobuf's limit: such a model needs its data kept outside */
		st = effc_fail(d, EFFC_ERR_UNSUPPORTED,
			       "%s: with its external data inlined the copy would be %zu bytes, "
			       "over protobuf's 2 GB limit",
			       src, packed);
	else if (!(out = malloc(packed ? packed : 1))) {
		st = effc_fail(d, EFFC_ERR_NOMEM, "out of memory");
	} else {
		onnx__model_proto__pack(m, out);
		st = effc_write_file(dst, out, packed, d);
		free(out);
	}
	gp->output = old;
	gp->n_output = old_n;
done:
	for (size_t i = 0; i < n_saved; i++) {
		Onnx__TensorProto *tp = saved[i].tp;
		tp->raw_data = saved[i].raw;
		tp->has_raw_data = saved[i].has_raw;
		tp->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
		tp->n_external_data = saved[i].n_ext;
	}
	loader_release(&L);
	free(tensors);
	free(saved);
	free(dir);
	free(outs);
	free(vis);
	free(tps);
	free(tts);
	onnx__model_proto__free_unpacked(m, NULL);
	return st;
}
