#!/bin/busybox sh
# /init of the matrix initramfs (busybox-static): load the virtio/9p/overlay modules in
# dependency order, mount the host's root (9p, read-only) under a tmpfs overlay, mount the
# results share, run the suite chrooted into the overlay, power off.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
echo "cryo-matrix: kernel $(uname -r) up after $(cut -d' ' -f1 /proc/uptime) s"
for m in $(cat /modules/order); do
  insmod "/modules/$m" || echo "cryo-matrix: insmod $m failed"
done
# cryo.root=overlay (kernel command line): the host root read-only under a tmpfs overlay;
# otherwise (direct) the 9p mount itself is the root, with tmpfs wherever the suite writes.
root=direct
for word in $(cat /proc/cmdline); do
  case "$word" in cryo.root=*) root=${word#cryo.root=} ;; esac
done
if [ "$root" = overlay ]; then lower=/lower; else lower=/root; fi
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144,cache=loose hostroot $lower \
  || mount -t 9p -o trans=virtio,version=9p2000.L,ro hostroot $lower \
  || { echo "cryo-matrix: cannot mount the host root"; poweroff -f; }
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 out /out || echo "cryo-matrix: cannot mount the results share"
if [ "$root" = overlay ]; then
  mount -t tmpfs -o size=768m tmpfs /rw
  mkdir -p /rw/upper /rw/work
  mount -t overlay overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work /root \
    || { echo "cryo-matrix: overlay mount failed"; poweroff -f; }
else
  mount -t tmpfs run /root/run
  mount -t tmpfs vartmp /root/var/tmp
fi
echo "cryo-matrix: root $root"
mount -t proc proc /root/proc
mount -t sysfs sys /root/sys
mount -t devtmpfs dev /root/dev
mount -t tmpfs tmp /root/tmp
# /mnt exists (empty) on every Debian root: the results share goes there.
mount -o bind /out /root/mnt
chroot /root /bin/bash /mnt/run.sh /mnt
echo "cryo-matrix: suite done"
sync
poweroff -f
