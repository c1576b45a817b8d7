#!/bin/busybox sh
# /init of the matrix initramfs (busybox-static): load the virtio/9p/overlay modules in
# dependency order, mount the host's root (9p, read-only) under a tmpfs overlay, mount the
# results share, run the suite (guest-suite.py, copied to the share as run.py) chrooted into
# the overlay, power off.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
echo "cryo-matrix: kernel $(uname -r) up after $(cut -d' ' -f1 /proc/uptime) s"
for m in $(cat /modules/order); do
  insmod "/modules/$m" || echo "cryo-matrix: insmod $m failed"
done
# cryo.root=overlay (kernel command line, the default): the host root read-only under a tmpfs
# overlay, writable everywhere, /tmp included (so the programs' files and binaries are on one
# device, as on the host); cryo.root=direct: the 9p mount itself is the root, with tmpfs
# wherever the suite writes.
root=overlay
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
  mount -t overlay overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work,xino=on /root \
    || { echo "cryo-matrix: overlay mount failed"; poweroff -f; }
else
  mount -t tmpfs run /root/run
  mount -t tmpfs vartmp /root/var/tmp
  mount -t tmpfs tmp /root/tmp
fi
echo "cryo-matrix: root $root"
# The loopback interface (vstest talks to its test host over 127.0.0.1); no other network.
ip link set lo up || echo "cryo-matrix: no loopback interface"
mount -t proc proc /root/proc
mount -t sysfs sys /root/sys
mount -t devtmpfs dev /root/dev
# /dev/shm, as every Debian system has it (POSIX shared memory, Python's multiprocessing).
mkdir -p /root/dev/shm && mount -t tmpfs -o size=256m shm /root/dev/shm
# /dev/pts, as every Debian system has it: pseudo-terminals for the terminal rows.
mkdir -p /root/dev/pts && mount -t devpts -o ptmxmode=0666 devpts /root/dev/pts
# /mnt exists (empty) on every Debian root: the results share goes there.
mount -o bind /out /root/mnt
HOME=/root chroot /root /usr/bin/python3 /mnt/run.py /mnt
echo "cryo-matrix: suite done"
sync
poweroff -f
