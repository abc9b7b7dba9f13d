// SPDX-License-Identifier: GPL-2.0+
/*
 * loopcam: frame memory shared by a device's queues.
 *
 * Each device has a pool of frame buffers. MMAP buffer i of every queue
 * of the device - the producer's and each reader's - is pool buffer i,
 * so a frame the producer queues in its buffer i reaches a reader that
 * has its buffer i queued without a copy. Who may write a pool buffer is
 * tracked so that nobody ever sees a frame change under it:
 *
 * - the producer writes pool buffer i only while it owns its buffer i,
 *   and gets that buffer back only when no reader holds the frame in it;
 * - the device writes (write() data, placeholder and repeated frames) only
 *   into a pool buffer no producer buffer uses and no reader holds.
 *
 * Readers get LOOPCAM_SPARE_POOL_BUFS more buffers than the producer;
 * those pool buffers are never the producer's, so the device always has
 * somewhere to put a placeholder while an MMAP producer owns the rest.
 *
 * Buffers that cannot be pool buffers (USERPTR, DMABUF, a reader's MMAP
 * buffers beyond the pool, CREATE_BUFS extras, a size other than the
 * pool's) get memory of their own and frames are copied into them. The
 * memory itself is vb2_vmalloc's, whose mmap and dma-buf export are
 * reused; all MMAP memory, and every exported dma-buf while it lives,
 * counts against one budget for all devices (max_memory_mb).
 */

#include <linux/dma-buf.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <media/videobuf2-memops.h>
#include <media/videobuf2-vmalloc.h>

#include "loopcam.h"

/**
 * struct loopcam_mem - the memory of one MMAP vb2 buffer
 * @handler: mmap reference tracking (vb2_common_vm_ops).
 * @refcount: vb2's reference and one per mapping.
 * @pool: the pool buffer it is, or NULL when it has memory of its own.
 * @vmem: vb2_vmalloc memory: the pool buffer's or its own.
 * @vaddr: kernel address of the memory.
 * @charged: bytes charged to the budget for its own memory.
 * @out: a producer buffer (counted in loopcam_pool_buf.out_users).
 */
struct loopcam_mem {
	struct vb2_vmarea_handler handler;
	refcount_t refcount;
	struct loopcam_pool_buf *pool;
	void *vmem;
	void *vaddr;
	size_t charged;
	bool out;
};

/* Bytes of frame memory all devices hold together (loopcam_memory_charge). */
static atomic_long_t loopcam_memory_used = ATOMIC_LONG_INIT(0);

static unsigned long loopcam_memory_budget(void)
{
	if (loopcam_max_memory_mb)
		return (unsigned long)loopcam_max_memory_mb << 20;
	return (totalram_pages() << PAGE_SHIFT) / 2;
}

/**
 * loopcam_memory_charge() - count frame memory against the budget
 * @size: bytes about to be allocated.
 *
 * All frame memory the module allocates - buffers, the staging and
 * placeholder frames - counts against one budget for all devices, so that
 * no user of the nodes can take all memory with many devices, handles and
 * large frames. A buffer over budget fails (vb2 then gives REQBUFS fewer
 * buffers, or ENOMEM when none fit), and so does a frame the device would
 * keep (write() then fails with ENOMEM, readers go without placeholder).
 *
 * Return: true when @size fits and is counted; loopcam_memory_uncharge()
 * gives it back.
 */
bool loopcam_memory_charge(unsigned long size)
{
	if (atomic_long_add_return(size, &loopcam_memory_used) <=
	    loopcam_memory_budget())
		return true;
	atomic_long_sub(size, &loopcam_memory_used);
	return false;
}

/**
 * loopcam_memory_uncharge() - give back what loopcam_memory_charge() counted
 * @size: bytes freed.
 */
void loopcam_memory_uncharge(unsigned long size)
{
	atomic_long_sub(size, &loopcam_memory_used);
}

static void *loopcam_vmem_alloc(struct vb2_buffer *vb, unsigned long size)
{
	void *vmem;

	if (!loopcam_memory_charge(size))
		return ERR_PTR(-ENOMEM);
	vmem = vb2_vmalloc_memops.alloc(vb, NULL, size);
	if (IS_ERR(vmem))
		loopcam_memory_uncharge(size);
	return vmem;
}

static void loopcam_vmem_free(void *vmem, unsigned long size)
{
	vb2_vmalloc_memops.put(vmem);
	loopcam_memory_uncharge(size);
}

static void loopcam_pool_buf_release(struct kref *ref)
{
	struct loopcam_pool_buf *pb =
		container_of(ref, struct loopcam_pool_buf, ref);

	loopcam_vmem_free(pb->vmem, pb->size);
	kfree(pb);
}

/**
 * loopcam_pool_buf_put() - drop a reference to a pool buffer
 * @pb: the pool buffer; freed with the last reference.
 */
void loopcam_pool_buf_put(struct loopcam_pool_buf *pb)
{
	kref_put(&pb->ref, loopcam_pool_buf_release);
}

/**
 * loopcam_pool_size() - MMAP buffers a reader's queue gets
 * @dev: the device.
 *
 * Return: the producer's count plus the spare pool buffers.
 */
unsigned int loopcam_pool_size(const struct loopcam_device *dev)
{
	return min_t(unsigned int,
		     dev->cfg.max_buffers + LOOPCAM_SPARE_POOL_BUFS,
		     LOOPCAM_MAX_BUFFERS);
}

/**
 * loopcam_pool_out_size() - MMAP buffers the producer's queue gets
 * @dev: the device.
 *
 * Return: max_buffers, less where the spare pool buffers would not fit.
 */
unsigned int loopcam_pool_out_size(const struct loopcam_device *dev)
{
	return loopcam_pool_size(dev) - LOOPCAM_SPARE_POOL_BUFS;
}

/**
 * loopcam_pool_buf_writable() - the device may write a pool buffer
 * @pb: the pool buffer, or NULL; its device is locked.
 * @bytes: the frame size.
 *
 * Return: true when it is big enough, no producer buffer uses it and no
 * reader holds a frame in it.
 */
bool loopcam_pool_buf_writable(const struct loopcam_pool_buf *pb,
			       size_t bytes)
{
	return pb && pb->size >= bytes && !pb->held && !pb->filling &&
	       !atomic_read(&pb->out_users);
}

/**
 * loopcam_pool_writable() - a pool buffer the device may fill
 * @dev: the device, locked.
 * @bytes: the frame size.
 *
 * Taken in turn, so that readers, who requeue buffers in the order they
 * got them, have the chosen one queued.
 *
 * Return: the pool buffer, or NULL when none is free.
 */
struct loopcam_pool_buf *loopcam_pool_writable(struct loopcam_device *dev,
					       size_t bytes)
{
	unsigned int n = loopcam_pool_size(dev);
	struct loopcam_pool_buf *pb;
	unsigned int i, k;

	lockdep_assert_held(&dev->lock);
	for (k = 0; k < n; k++) {
		i = (dev->pool_next + k) % n;
		pb = dev->pool[i];
		if (loopcam_pool_buf_writable(pb, bytes)) {
			dev->pool_next = (i + 1) % n;
			return pb;
		}
	}
	return NULL;
}

/*
 * The pool buffer a new MMAP vb2 buffer becomes, or NULL when it gets
 * memory of its own: its index is beyond the pool, its size differs from
 * a pool buffer still in use, or, for the producer, a reader still holds
 * a frame in it (the producer may write its buffers at once).
 */
static struct loopcam_pool_buf *loopcam_pool_bind(struct vb2_buffer *vb,
						  unsigned long size, bool out)
{
	struct loopcam_fh *lfh = vb2_get_drv_priv(vb->vb2_queue);
	struct loopcam_device *dev = lfh->dev;
	unsigned int limit = out ? loopcam_pool_out_size(dev) :
				   loopcam_pool_size(dev);
	struct loopcam_pool_buf *pb;

	lockdep_assert_held(&dev->lock);
	if (vb->index >= limit)
		return NULL;
	pb = dev->pool[vb->index];
	/* Only the pool refers to it: make it the new size. */
	if (pb && pb->size != size && kref_read(&pb->ref) == 1) {
		dev->pool[vb->index] = NULL;
		loopcam_pool_buf_put(pb);
		pb = NULL;
	}
	if (!pb) {
		pb = kzalloc(sizeof(*pb), GFP_KERNEL);
		if (!pb)
			return ERR_PTR(-ENOMEM);
		pb->vmem = loopcam_vmem_alloc(vb, size);
		if (IS_ERR(pb->vmem)) {
			int ret = PTR_ERR(pb->vmem);

			kfree(pb);
			lc_dbg(1, dev, "buffer memory budget (max_memory_mb) reached\n");
			return ERR_PTR(ret);
		}
		pb->vaddr = vb2_vmalloc_memops.vaddr(vb, pb->vmem);
		pb->size = size;
		kref_init(&pb->ref);
		atomic_set(&pb->out_users, 0);
		dev->pool[vb->index] = pb;
	}
	if (pb->size != size ||
	    (out && (pb->held || pb->filling || atomic_read(&pb->out_users))))
		return NULL;
	kref_get(&pb->ref);
	if (out)
		atomic_inc(&pb->out_users);
	return pb;
}

/* Free what only the pool still refers to; the rest goes with its users. */
static void loopcam_pool_drop(struct loopcam_device *dev, bool all)
{
	struct loopcam_pool_buf *pb;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(dev->pool); i++) {
		pb = dev->pool[i];
		if (!pb || (!all && kref_read(&pb->ref) > 1))
			continue;
		dev->pool[i] = NULL;
		loopcam_pool_buf_put(pb);
	}
}

/**
 * loopcam_pool_trim() - give back pool memory no buffer uses
 * @dev: the device, locked; called when its last handle closes.
 */
void loopcam_pool_trim(struct loopcam_device *dev)
{
	lockdep_assert_held(&dev->lock);
	loopcam_pool_drop(dev, false);
}

/**
 * loopcam_pool_free() - drop the pool's references
 * @dev: the device being freed; mappings that outlive it keep their memory.
 */
void loopcam_pool_free(struct loopcam_device *dev)
{
	loopcam_pool_drop(dev, true);
}

/* ---- vb2 memory operations: MMAP on the pool, the rest vb2_vmalloc's ---- */

static void loopcam_mem_put(void *priv)
{
	struct loopcam_mem *mem = priv;

	if (!refcount_dec_and_test(&mem->refcount))
		return;
	if (mem->pool) {
		if (mem->out)
			atomic_dec(&mem->pool->out_users);
		loopcam_pool_buf_put(mem->pool);
	} else {
		loopcam_vmem_free(mem->vmem, mem->charged);
	}
	kfree(mem);
}

static void *loopcam_mem_alloc(struct vb2_buffer *vb, struct device *unused,
			       unsigned long size)
{
	bool out = loopcam_is_output(vb->vb2_queue->type);
	struct loopcam_pool_buf *pb;
	struct loopcam_mem *mem;

	size = PAGE_ALIGN(size);
	mem = kzalloc(sizeof(*mem), GFP_KERNEL);
	if (!mem)
		return ERR_PTR(-ENOMEM);
	pb = loopcam_pool_bind(vb, size, out);
	if (IS_ERR(pb)) {
		kfree(mem);
		return pb;
	}
	if (pb) {
		mem->pool = pb;
		mem->vmem = pb->vmem;
		mem->vaddr = pb->vaddr;
		mem->out = out;
	} else {
		mem->vmem = loopcam_vmem_alloc(vb, size);
		if (IS_ERR(mem->vmem)) {
			void *err = mem->vmem;

			kfree(mem);
			return err;
		}
		mem->vaddr = vb2_vmalloc_memops.vaddr(vb, mem->vmem);
		mem->charged = size;
	}
	refcount_set(&mem->refcount, 1);
	mem->handler.refcount = &mem->refcount;
	mem->handler.put = loopcam_mem_put;
	mem->handler.arg = mem;
	return mem;
}

static int loopcam_mem_mmap(void *priv, struct vm_area_struct *vma)
{
	struct loopcam_mem *mem = priv;
	int ret;

	ret = remap_vmalloc_range(vma, mem->vaddr, 0);
	if (ret)
		return ret;
	/* Each mapping holds a reference, so munmap may outlive the buffer. */
	vma->vm_private_data = &mem->handler;
	vma->vm_ops = &vb2_common_vm_ops;
	vma->vm_ops->open(vma);
	return 0;
}

static unsigned int loopcam_mem_num_users(void *priv)
{
	struct loopcam_mem *mem = priv;

	return refcount_read(&mem->refcount);
}

static void *loopcam_mem_vaddr(struct vb2_buffer *vb, void *priv)
{
	struct loopcam_mem *mem = priv;

	if (vb->memory != VB2_MEMORY_MMAP)
		return vb2_vmalloc_memops.vaddr(vb, priv);
	return mem->vaddr;
}

/*
 * An exported buffer's memory lives as long as the importer holds the
 * dma-buf, after the queue has freed the buffer and maybe allocated new
 * ones: exporting and reallocating could pin memory without end. So each
 * export counts against the budget until the dma-buf is released. The
 * exporter is vb2_vmalloc's with a release that gives the charge back;
 * the dma-buf pins this module, whose code that release is.
 */
static DEFINE_MUTEX(loopcam_dmabuf_ops_lock);
static struct dma_buf_ops loopcam_dmabuf_ops;
static void (*loopcam_vmalloc_dmabuf_release)(struct dma_buf *dbuf);

static void loopcam_dmabuf_release(struct dma_buf *dbuf)
{
	size_t size = dbuf->size;

	loopcam_vmalloc_dmabuf_release(dbuf);
	loopcam_memory_uncharge(size);
}

static const struct dma_buf_ops *loopcam_dmabuf_ops_of(struct dma_buf *dbuf)
{
	mutex_lock(&loopcam_dmabuf_ops_lock);
	if (!loopcam_vmalloc_dmabuf_release) {
		loopcam_dmabuf_ops = *dbuf->ops;
		loopcam_dmabuf_ops.release = loopcam_dmabuf_release;
		loopcam_vmalloc_dmabuf_release = dbuf->ops->release;
	}
	mutex_unlock(&loopcam_dmabuf_ops_lock);
	return &loopcam_dmabuf_ops;
}

static struct dma_buf *loopcam_mem_get_dmabuf(struct vb2_buffer *vb,
					      void *priv, unsigned long flags)
{
	struct loopcam_mem *mem = priv;
	/* What vb2_vmalloc allocated, which is the dma-buf's size. */
	size_t size = mem->pool ? mem->pool->size : mem->charged;
	struct dma_buf *dbuf;

	if (!loopcam_memory_charge(size))
		return NULL;
	dbuf = vb2_vmalloc_memops.get_dmabuf(vb, mem->vmem, flags);
	if (!dbuf) {
		loopcam_memory_uncharge(size);
		return NULL;
	}
	/* Nobody has seen it yet: the fd is made after this returns. */
	dbuf->ops = loopcam_dmabuf_ops_of(dbuf);
	__module_get(THIS_MODULE);
	module_put(dbuf->owner);
	dbuf->owner = THIS_MODULE;
	return dbuf;
}

/* vb2_vmalloc's operations with MMAP memory taken from the pool. */
static struct vb2_mem_ops loopcam_mem_ops __ro_after_init;

/**
 * loopcam_pool_mem_ops() - the vb2 memory operations of every queue
 *
 * Return: the operations, set up by loopcam_pool_init().
 */
const struct vb2_mem_ops *loopcam_pool_mem_ops(void)
{
	return &loopcam_mem_ops;
}

/**
 * loopcam_pool_init() - set up the memory operations at module load
 */
void __init loopcam_pool_init(void)
{
	loopcam_mem_ops = vb2_vmalloc_memops;
	loopcam_mem_ops.alloc = loopcam_mem_alloc;
	loopcam_mem_ops.put = loopcam_mem_put;
	loopcam_mem_ops.mmap = loopcam_mem_mmap;
	loopcam_mem_ops.num_users = loopcam_mem_num_users;
	loopcam_mem_ops.vaddr = loopcam_mem_vaddr;
	loopcam_mem_ops.get_dmabuf = loopcam_mem_get_dmabuf;
}

/**
 * loopcam_pool_of() - the pool buffer a vb2 buffer's memory is
 * @vb: the buffer.
 *
 * Return: the pool buffer, or NULL for memory of its own.
 */
struct loopcam_pool_buf *loopcam_pool_of(struct vb2_buffer *vb)
{
	struct loopcam_mem *mem;

	if (vb->memory != VB2_MEMORY_MMAP)
		return NULL;
	mem = vb->planes[0].mem_priv;
	return mem ? mem->pool : NULL;
}
