meta:
  id: cryo
  title: cryo checkpoint file (format version 1)
  application: cryo (checkpoint/restart of Linux processes), cryo-dump
  file-extension: cryo
  ks-version: '0.11'
  endian: le
  bit-endian: le
doc: |
  A cryo checkpoint: the saved state of a tree of Linux x86-64 processes (process info,
  credentials, a working directory deleted while the process was in it, limits, signals, interval and POSIX timers, OOM score adjustment, the System V
  shared memory segments attached, the memfd objects and deleted files referred to and their
  contents, memory layout, memory areas, their pages and their advice, guard regions, file descriptors with the
  state of eventfd, signalfd, timerfd, epoll (and whether an epoll instance was idle) and inotify files, the process each pidfd refers to, the state of connected Unix sockets with their
  names and the bytes queued in them, of listening Unix and TCP sockets, of UDP sockets and of the terminals the processes run on, the seccomp
  filters of their threads, threads with their registers, scheduling attributes and seccomp mode,
  pipes and their unread bytes),
  written as a stream of items so that it can be produced and consumed without seeking (a pipe
  will do).

  Layout: a header closed by its own CRC-32C, then item frames until the trailer frame `TRLR`.
  Every frame is `tag` (4 printable ASCII bytes), `flags` (u4), `length` (u4), `payload`
  (`length` bytes) and `crc` (u4, CRC-32C of tag, flags, length and payload). All integers are
  little-endian. CRC-32C is the Castagnoli CRC (reflected polynomial 0x82F63B78, initial value
  and final XOR 0xFFFFFFFF; "123456789" gives 0xE3069283).

  Sections group items: a frame with the `section_begin` flag opens section X (its tag is X, its
  payload empty), a frame with the `section_end` flag and the same tag closes it. Sections are
  `PROC` (one process; may hold `THRD` sections), `THRD` (one thread) and `FIFO` (all pipes and
  FIFOs); they nest at most 8 deep. The trailer is the frame whose tag is `TRLR` and whose flags
  have neither section bit; nothing may follow it.

  Readers skip items and sections whose tag they do not know when the frame's `critical` flag
  is clear, and reject the file when it is set.

  Conventions of this description (relied on by tests/Format/Kaitai/crosscheck.js, which
  checks it against the C# reader): attribute ids are the field names that cryo-dump prints;
  an attribute `len_X` is the byte length of the string `X` that follows it, `num_X` the entry
  count of the list `X`; attributes marked `-cryo-dump: hidden` are framing that cryo-dump does
  not print; an attribute marked `-cryo-dump: ip-address` is the 16 bytes of an IP address, which
  cryo-dump prints as text (dotted IPv4 from the first 4 bytes when the `family` beside it is 2,
  else IPv6). Limits that readers enforce: a payload is at most 16 MiB, a byte string at most
  4096 bytes, a list at most 65536 entries.
doc-ref: docs/format.md
seq:
  - id: header
    type: header
    doc: The file header, closed by its own checksum.
  - id: items
    type: item
    repeat: until
    repeat-until: _.is_trailer
    doc: |
      Every item frame of the file in order, the trailer (tag `TRLR`, no section bit) last.
      Section begin/end frames are items too: they count in the trailer's `item_count`.
types:
  header:
    doc: |
      The file header. Its checksum `crc` covers every byte of the header before it; that
      checksum, as 4 little-endian bytes, also starts the trailer's chain checksum.
    seq:
      - id: magic
        contents: ["CRYO", 0x0d, 0x0a, 0x1a, 0x0a]
        -cryo-dump: hidden
        doc: |
          "CRYO\r\n\x1a\n": the CR LF and ^Z bytes catch transfers that mangle line ends or
          text files.
      - id: version_major
        type: u2
        valid: 1
        doc: Format major version; readers reject a major version they do not read (this is 1).
      - id: version_minor
        type: u2
        doc: Format minor version (0); minor versions add item kinds; a reader skips unknown optional items and rejects unknown critical ones.
      - id: flags
        type: u4
        valid: 0
        doc: Header flags; none are defined in version 1, so this is 0.
      - id: arch
        type: u2
        enum: arch
        valid: arch::x86_64
        doc: Architecture of the saved processes as an ELF e_machine number; only 62 (x86-64).
      - id: reserved
        type: u2
        valid: 0
        -cryo-dump: hidden
        doc: Reserved, zero.
      - id: page_size
        type: u4
        valid:
          expr: _ >= 4096 and _ <= 1048576 and (_ & (_ - 1)) == 0
        doc: Page size in bytes of the machine the checkpoint was taken on; a power of two from 4096 to 1 MiB. PAGE items hold whole pages of this size.
      - id: created_ns
        type: s8
        doc: When the checkpoint was taken, in nanoseconds since the Unix epoch (UTC).
      - id: len_kernel_release
        type: u2
        valid:
          max: 4096
        doc: Length in bytes of `kernel_release`.
      - id: kernel_release
        type: str
        size: len_kernel_release
        encoding: UTF-8
        doc: Release of the kernel the checkpoint was taken on (uname -r), UTF-8, no terminator.
      - id: len_creator
        type: u2
        valid:
          max: 4096
        doc: Length in bytes of `creator`.
      - id: creator
        type: str
        size: len_creator
        encoding: UTF-8
        doc: Name and version of the program that wrote the file, UTF-8, no terminator.
      - id: crc
        type: u4
        -cryo-dump: hidden
        doc: CRC-32C of every header byte before this field, from the magic to the end of `creator`.

  item:
    doc: |
      One item frame. A section frame (flag `section_begin` or `section_end`) has an empty
      payload and the tag of its section. Which frames may stand where: `PINF`, `CRED`, `DCWD`, `RLIM`,
      `SIGA`, `ITMR`, `PTMR`, `OOMS`, `SHMS`, `MEMF`, `MDAT`, `DELF`, `MMST`, `AREA`, `PAGE`, `GARD`,
      `MADV`, `FDES`, `FOWN`, `FLCK`, `EVFD`, `SGFD`, `TMFD`, `EPOL`, `EPQT`, `INOT`, `PIDF`, `USCK`, `UDAT`, `USNM`,
      `ULSN`, `ISCK`, `UDPS`, `TTYS`, `SCMF` and `THRD` sections in a `PROC` section; `PEND` in `PROC` or `THRD`; `TINF`,
      `GREG`, `XSTA`, `SCHD`, `IOPR`, `SCMT` in `THRD`; `FINF`, `FBUF` in `FIFO`; `PROC`, `FIFO`,
      `STAT` and `TRLR` at top level.
      The DCWD of a process whose working directory was deleted directly follows its PINF (at
      most one per PROC). The MDAT items of a memfd object or a deleted file follow its MEMF or DELF item, the PAGE
      items of a memory area its
      AREA item, the EVFD, SGFD, TMFD, EPOL, INOT, PIDF, USCK, ULSN, ISCK, UDPS or TTYS, FOWN and FLCK items of a descriptor its FDES
      (exactly one of USCK, ULSN, ISCK or UDPS after the first FDES of a socket description in a process),
      the EPQT of an idle epoll instance (optional; the edges it had reported) directly its EPOL,
      the USNM (if it is named) and then the UDAT items of a Unix socket the first USCK of that
      socket, the FBUF items of a pipe its
      FINF item; the SCMF items of a PROC come before its first THRD, each after its parent.
    seq:
      - id: tag
        type: str
        size: 4
        encoding: ASCII
        doc: Item kind, four printable ASCII characters (0x20..0x7E), e.g. "PINF".
      - id: flags
        type: u4
        valid:
          max: 7
        doc: |
          Frame flags: bit 0 critical (a reader that does not know the tag must reject the
          file), bit 1 section begin, bit 2 section end; other bits are zero, and bits 1 and 2
          are never both set.
      - id: length
        type: u4
        valid:
          max: 16777216
        doc: Payload length in bytes, at most 16 MiB; 0 for section frames.
      - id: payload
        size: length
        type:
          switch-on: 'is_section_frame ? "" : tag'
          cases:
            '"PINF"': process_info
            '"CRED"': credentials
            '"DCWD"': deleted_working_directory
            '"RLIM"': resource_limits
            '"SIGA"': signal_handlers
            '"PEND"': pending_signals
            '"ITMR"': interval_timer
            '"PTMR"': posix_timer
            '"OOMS"': oom_score_adjustment
            '"SHMS"': sysv_segment
            '"MEMF"': memfd_object
            '"MDAT"': memfd_data
            '"DELF"': deleted_file
            '"MMST"': memory_layout
            '"AREA"': memory_area
            '"PAGE"': page_data
            '"MADV"': memory_advice
            '"GARD"': guard_regions
            '"FDES"': file_descriptor
            '"FOWN"': file_owner
            '"FLCK"': file_lock
            '"EVFD"': event_counter
            '"SGFD"': signal_queue_file
            '"TMFD"': timer_file
            '"EPOL"': event_poll_file
            '"EPQT"': event_poll_idle
            '"INOT"': inotify_file
            '"PIDF"': pid_fd
            '"USCK"': unix_socket
            '"UDAT"': unix_socket_data
            '"USNM"': unix_socket_name
            '"ULSN"': unix_listener
            '"ISCK"': inet_socket
            '"UDPS"': inet_datagram_socket
            '"TTYS"': terminal_state
            '"SCMF"': seccomp_filter
            '"TINF"': thread_info
            '"GREG"': registers
            '"XSTA"': extended_state
            '"SCHD"': thread_scheduling
            '"IOPR"': io_priority
            '"SCMT"': thread_seccomp
            '"FINF"': pipe_info
            '"FBUF"': pipe_data
            '"STAT"': checkpoint_stats
            '"TRLR"': trailer
        doc: |
          The item's fields, decoded by tag. Section frames have an empty payload; an item of
          an unknown tag stays raw bytes. A decoded payload has no bytes after its last field.
      - id: crc
        type: u4
        doc: CRC-32C of the 12 frame bytes (tag, flags, length) followed by the payload.
    instances:
      is_critical:
        value: (flags & 1) != 0
        doc: Flag bit 0, critical.
      is_section_begin:
        value: (flags & 2) != 0
        doc: Flag bit 1, opens the section `tag`.
      is_section_end:
        value: (flags & 4) != 0
        doc: Flag bit 2, closes the innermost open section, whose tag it repeats.
      is_section_frame:
        value: (flags & 6) != 0
        doc: A section begin or end frame (empty payload).
      is_trailer:
        value: tag == "TRLR" and not is_section_frame
        doc: The trailer, the last frame of the file.
      is_known_section:
        value: tag == "PROC" or tag == "THRD" or tag == "FIFO"
        doc: The section tags of format version 1 (process, thread, pipes and FIFOs).

  process_info:
    doc: PINF, process info - who a process is and where it stands in the tree. First item of a PROC section.
    seq:
      - id: pid
        type: s4
        doc: Process id.
      - id: ppid
        type: s4
        doc: Parent process id.
      - id: pgid
        type: s4
        doc: Process group id.
      - id: sid
        type: s4
        doc: Session id.
      - id: state
        type: u1
        enum: process_state
        valid:
          in-enum: true
        doc: Alive (0), zombie (1) or stopped by job control (2).
      - id: exit_status
        type: s4
        doc: |
          Wait status of a zombie (as waitpid reports it); of a stopped process, the status of
          its stop (0x7f | signal << 8, as waitpid with WUNTRACED reports it); 0 for a live process.
      - id: personality
        type: u4
        doc: Execution domain flags (personality(2)).
      - id: umask
        type: u4
        doc: File mode creation mask.
      - id: dumpable
        type: u1
        doc: PR_GET_DUMPABLE value.
      - id: no_new_privs
        type: u1
        doc: PR_GET_NO_NEW_PRIVS value (0 or 1).
      - id: child_subreaper
        type: u1
        doc: PR_GET_CHILD_SUBREAPER value (0 or 1).
      - id: pdeath_signal
        type: u4
        doc: Signal sent on the parent's death (PR_GET_PDEATHSIG), 0 for none.
      - id: thread_count
        type: u4
        doc: Number of threads, which is the number of THRD sections in this PROC section.
      - id: len_comm
        type: u2
        valid:
          max: 4096
        doc: Length in bytes of `comm`.
      - id: comm
        size: len_comm
        doc: Command name (/proc/PID/comm), bytes.
      - id: len_exe
        type: u2
        valid:
          max: 4096
        doc: Length in bytes of `exe`.
      - id: exe
        size: len_exe
        doc: Path of the executable (/proc/PID/exe), bytes.
      - id: len_cwd
        type: u2
        valid:
          max: 4096
        doc: Length in bytes of `cwd`.
      - id: cwd
        size: len_cwd
        doc: |
          The working directory (/proc/PID/cwd), bytes; when it was deleted, its path before the
          deletion (the link without " (deleted)"), and a DCWD item follows this PINF.
      - id: len_root
        type: u2
        valid:
          max: 4096
        doc: Length in bytes of `root`.
      - id: root
        size: len_root
        doc: Root directory (/proc/PID/root), bytes.

  credentials:
    doc: CRED, credentials - user and group ids, supplementary groups, capability sets and securebits of a process.
    seq:
      - id: ruid
        type: u4
        doc: Real user id.
      - id: euid
        type: u4
        doc: Effective user id.
      - id: suid
        type: u4
        doc: Saved set-user-id.
      - id: fsuid
        type: u4
        doc: File system user id.
      - id: rgid
        type: u4
        doc: Real group id.
      - id: egid
        type: u4
        doc: Effective group id.
      - id: sgid
        type: u4
        doc: Saved set-group-id.
      - id: fsgid
        type: u4
        doc: File system group id.
      - id: cap_inheritable
        type: u8
        doc: Inheritable capability set (bit n is capability n).
      - id: cap_permitted
        type: u8
        doc: Permitted capability set.
      - id: cap_effective
        type: u8
        doc: Effective capability set.
      - id: cap_bounding
        type: u8
        doc: Capability bounding set.
      - id: cap_ambient
        type: u8
        doc: Ambient capability set.
      - id: securebits
        type: u4
        doc: Securebits flags (PR_GET_SECUREBITS).
      - id: num_groups
        type: u4
        valid:
          max: 65536
        doc: Number of entries in `groups`.
      - id: groups
        type: group_entry
        repeat: expr
        repeat-expr: num_groups
        doc: Supplementary group ids.

  group_entry:
    doc: One supplementary group.
    seq:
      - id: gid
        type: u4
        doc: Group id.

  deleted_working_directory:
    doc: |
      DCWD, deleted working directory - the process's working directory was deleted (rmdir) while
      the process was in it: its path, mode and owner. Directly after the PINF of such a process
      (before its CRED), at most once per PROC; `path` is that PINF's `cwd` (a consumer rejects a
      DCWD elsewhere, a second one, or one whose path differs; not expressed here). Writers refuse a
      process whose deleted working directory's parent directory is gone too. A restore makes an
      empty directory at `path` (beside it, PATH.cryo-N, if the name is taken) with the mode and
      owner, makes it the process's working directory and removes it again at once, so that the
      process is in a deleted directory as before (no file can be made there, getcwd fails).
    seq:
      - id: len_path
        type: u2
        valid:
          min: 2
          max: 4096
        doc: Length in bytes of `path`, at least 2 (not "/" alone; a deleted directory has a parent).
      - id: path
        size: len_path
        valid:
          expr: _.first == 0x2f and _.min != 0
        doc: |
          The path the directory had when it was deleted, bytes, as /proc/PID/cwd shows it without
          the " (deleted)" suffix: absolute (first byte '/'), no NUL; the `cwd` of the PINF it follows.
      - id: mode
        type: u4
        valid:
          expr: (_ & 0xf000) == 0x4000
        doc: st_mode of the directory; its type bits are 0x4000, a directory.
      - id: uid
        type: u4
        doc: Owner's user id (st_uid).
      - id: gid
        type: u4
        doc: Owner's group id (st_gid).

  resource_limits:
    doc: RLIM, resource limits of the process.
    seq:
      - id: num_limits
        type: u4
        valid:
          max: 65536
        doc: Number of entries in `limits`.
      - id: limits
        type: resource_limit
        repeat: expr
        repeat-expr: num_limits
        doc: One entry per resource.

  resource_limit:
    doc: One resource limit.
    seq:
      - id: resource
        type: u4
        enum: rlimit_resource
        doc: RLIMIT_* number as on Linux x86-64.
      - id: soft
        type: u8
        doc: Soft limit; 0xFFFFFFFFFFFFFFFF is RLIM_INFINITY.
      - id: hard
        type: u8
        doc: Hard limit; 0xFFFFFFFFFFFFFFFF is RLIM_INFINITY.

  signal_handlers:
    doc: |
      SIGA, signal handlers - the actions of the signals (other than SIGKILL and SIGSTOP) whose
      action is not all zero, shared by all threads of a process. A SIG_DFL action (handler 0) is
      listed when it has flags or a mask (SIGCHLD with SA_NOCLDWAIT; an action SA_RESETHAND reset
      to SIG_DFL keeps its flags and mask). A restore sets every listed action exactly; a signal
      not listed has the all-zero action (SIG_DFL, no flags, no mask, no restorer).
    seq:
      - id: num_actions
        type: u4
        valid:
          max: 65536
        doc: Number of entries in `actions`.
      - id: actions
        type: signal_action
        repeat: expr
        repeat-expr: num_actions
        doc: One entry per signal whose action (handler, flags, restorer, mask) is not all zero.

  signal_action:
    doc: A signal's disposition (the kernel's struct sigaction).
    seq:
      - id: signal
        type: u4
        valid:
          min: 1
          max: 64
        doc: Signal number, 1 to 64.
      - id: handler
        type: u8
        doc: Handler; 0 is SIG_DFL, 1 is SIG_IGN, anything else an address in the process.
      - id: flags
        type: u8
        doc: SA_* flags.
      - id: restorer
        type: u8
        doc: Address of the signal-return trampoline (SA_RESTORER).
      - id: mask
        type: u8
        doc: Signals blocked while the handler runs (bit n-1 is signal n).

  pending_signals:
    doc: PEND, pending signals of one queue - a thread's own (in a THRD section) or the process's shared one (in a PROC section).
    seq:
      - id: queue
        type: u1
        enum: signal_queue
        valid:
          in-enum: true
        doc: Which queue, 0 a thread's, 1 the process's.
      - id: num_signals
        type: u4
        valid:
          max: 65536
        doc: Number of entries in `signals`.
      - id: signals
        type: queued_signal
        repeat: expr
        repeat-expr: num_signals
        doc: The queued signals, oldest first.

  queued_signal:
    doc: A queued signal, as a siginfo_t of the x86-64 kernel ABI (128 bytes).
    seq:
      - id: signal
        type: s4
        doc: si_signo.
      - id: errno
        type: s4
        doc: si_errno.
      - id: code
        type: s4
        doc: si_code.
      - id: data
        size: 116
        doc: The remaining 116 bytes of siginfo_t as the kernel lays them out (the union's meaning depends on signal and code); restored verbatim through rt_tgsigqueueinfo.

  interval_timer:
    doc: |
      ITMR, one interval timer of the process (setitimer, alarm), as getitimer reported it at
      the checkpoint: one item per armed timer, and for an ITIMER_REAL stopped with an interval
      (a periodic timer that has fired, its SIGALRM pending), whose `value` is 0.
    seq:
      - id: which
        type: u1
        enum: itimer_which
        valid:
          in-enum: true
        doc: Which timer, 0 ITIMER_REAL, 1 ITIMER_VIRTUAL, 2 ITIMER_PROF.
      - id: interval_sec
        type: u8
        doc: Reload interval, whole seconds; with `interval_usec` 0 for a one-shot timer.
      - id: interval_usec
        type: u4
        valid:
          max: 999999
        doc: Reload interval, microseconds below one second.
      - id: value_sec
        type: u8
        doc: Time that remained until the next expiry, whole seconds.
      - id: value_usec
        type: u4
        valid:
          max: 999999
        doc: Time that remained until the next expiry, microseconds below one second.

  posix_timer:
    doc: |
      PTMR, one POSIX timer of the process (timer_create), as timer_gettime reported it at the
      checkpoint: one item per timer, armed or not, after the ITMR items, in ascending order of
      `id`. A restore recreates it with the same id and arms it, relative, with what remained.
    seq:
      - id: id
        type: s4
        valid:
          min: 0
        doc: The timer's id as Linux gave it (ID in /proc/PID/timers), not negative.
      - id: clock_id
        type: s4
        enum: posix_timer_clock
        valid:
          in-enum: true
        doc: The timer's clock (Linux clockid_t numbers; the process's own CPU-time clocks as Linux encodes them).
      - id: notify
        type: u1
        enum: posix_timer_notify
        valid:
          in-enum: true
        doc: How the timer tells of its expiry (this format's numbers, not Linux's sigev_notify values).
      - id: signal
        type: u4
        valid:
          expr: _ <= 64 and (_ != 0 or notify == posix_timer_notify::none)
        doc: The signal sent at each expiry, 1..64; 0..64 for notify none (which sends none).
      - id: value
        type: u8
        doc: The sigev_value the signal carries (sival_int in the low 4 bytes, or sival_ptr).
      - id: thread_id
        type: s4
        valid:
          expr: 'notify == posix_timer_notify::thread ? _ > 0 : _ == 0'
        doc: For notify thread, the thread of the process that receives the signal (a tid); 0 otherwise.
      - id: value_ns
        type: u8
        doc: The time that remained until the next expiry, in nanoseconds; 0 when the timer is disarmed.
      - id: interval_ns
        type: u8
        valid:
          expr: _ == 0 or value_ns != 0
        doc: Period in nanoseconds, 0 for a one-shot timer; 0 when `value_ns` is 0.

  oom_score_adjustment:
    doc: |
      OOMS, the process's oom_score_adj (/proc/PID/oom_score_adj): how much the OOM killer
      prefers (positive) or spares (negative) the process. One per PROC of a live process, also
      when it is 0; it belongs to the process, not to a thread.
    seq:
      - id: oom_score_adj
        type: s4
        valid:
          min: -1000
          max: 1000
        doc: -1000 (never chosen by the OOM killer) ... 1000.

  sysv_segment:
    doc: |
      SHMS, one System V shared memory segment (shmget) that the process has attached, as
      shmctl IPC_STAT and /proc/sysvipc/shm show it: one item per segment, in ascending order of
      `id`, after the OOMS item and before MMST. The AREA items of kind sysv_shared whose `inode`
      is `id` attach it. A restore attaches the live segment of that id when its key, size,
      creator pid and creator uid are these, else makes it again with this id.
    seq:
      - id: id
        type: s4
        valid:
          min: 0
        doc: The segment's id (shmid), not negative; also the inode /proc/PID/maps shows for its mappings.
      - id: key
        type: u4
        doc: |
          The segment's key: the 32 bits of Linux's key_t (a signed int), any value; 0 is
          IPC_PRIVATE, and a destroyed segment (`mode` 0x200) has 0.
      - id: size
        type: u8
        valid:
          min: 1
        doc: Size in bytes as shmget got it, not 0 (not rounded up to pages).
      - id: mode
        type: u4
        valid:
          expr: _ <= 0x7ff and ((_ & 0x200) == 0 or key == 0)
        doc: |
          shm_perm.mode: the permission bits 0x1ff, 0x200 SHM_DEST (removed with IPC_RMID,
          freed at its last detach; then `key` is 0), 0x400 SHM_LOCKED (shmctl SHM_LOCK);
          other bits zero. The C# reader reports a destroyed segment with a key on `key`.
      - id: uid
        type: u4
        doc: Owner's user id.
      - id: gid
        type: u4
        doc: Owner's group id.
      - id: creator_uid
        type: u4
        doc: Creator's user id.
      - id: creator_gid
        type: u4
        doc: Creator's group id.
      - id: creator_pid
        type: s4
        valid:
          min: 1
        doc: The process that created the segment (shm_cpid), positive.
      - id: change_time
        type: s8
        doc: shm_ctime, when the segment was created or last changed with IPC_SET, in seconds since the Unix epoch.

  memfd_object:
    doc: |
      MEMF, one memfd object (memfd_create) that the process refers to through a descriptor (FDES
      kind memfd) or a mapping (AREA kind memfd): one item per object in the file, in the first
      PROC whose process refers to it (later ones reach it by `device` and `object_id` alone),
      after the SHMS items and before MMST, in ascending order of `object_id`. Its contents
      follow directly as MDAT items. A restore makes the object again (name, mode, owner, size,
      contents, then the seals) and gives every FDES and AREA with its `device` and `object_id`
      as device and inode, in any process, that one object.
    seq:
      - id: object_id
        type: u8
        valid:
          min: 1
        doc: The memfd's inode number (st_ino), not 0; the `inode` of the FDES and AREA items that refer to it.
      - id: device
        type: u8
        doc: st_dev of the memfd; the `device` of the FDES and AREA items that refer to it.
      - id: size
        type: u8
        doc: The file's size in bytes (st_size), below 2^63 (a reader checks that; not expressed here).
      - id: seals
        type: u4
        valid:
          max: 0x3f
        doc: |
          F_GET_SEALS: 0x1 F_SEAL_SEAL, 0x2 F_SEAL_SHRINK, 0x4 F_SEAL_GROW, 0x8 F_SEAL_WRITE,
          0x10 F_SEAL_FUTURE_WRITE, 0x20 F_SEAL_EXEC; other bits zero. A memfd made without
          MFD_ALLOW_SEALING shows F_SEAL_SEAL.
      - id: mode
        type: u4
        valid:
          expr: (_ & 0xf000) == 0x8000
        doc: st_mode; its type bits are 0x8000, a regular file.
      - id: uid
        type: u4
        doc: Owner's user id (st_uid).
      - id: gid
        type: u4
        doc: Owner's group id (st_gid).
      - id: len_name
        type: u2
        valid:
          max: 249
        doc: Length in bytes of `name`, at most 249 (NAME_MAX less the "memfd:" prefix).
      - id: name
        size: len_name
        doc: |
          The name given to memfd_create, bytes, without the "memfd:" prefix and the " (deleted)"
          of the links ("/memfd:NAME (deleted)"); no NUL and no '/' (a reader checks that; not
          expressed here).

  memfd_data:
    doc: |
      MDAT, memfd data - contents of the memfd object or deleted file `object_id` from `offset`,
      directly after its MEMF or DELF item (or the MDAT before it), in ascending offset order
      without overlap, within the object's size rounded up to whole pages; pages in no MDAT are
      holes (zeros). A restore writes the bytes only up to the object's size. Writers split the
      contents into items of at most 1 MiB.
    seq:
      - id: object_id
        type: u8
        doc: The object the bytes belong to, the `object_id` of the MEMF or DELF it follows.
      - id: offset
        type: u8
        doc: |
          Offset in the object of the first byte, a multiple of the header's `page_size`;
          `offset` plus the length of `data` is below 2^63 (a reader checks that; not expressed
          here).
      - id: data
        size-eos: true
        valid:
          expr: _.size > 0
        doc: |
          The contents, the rest of the payload, not empty: a whole number of pages (header
          `page_size`), which consumers check, not readers.

  deleted_file:
    doc: |
      DELF, one regular file that was deleted (unlinked, st_nlink 0) while the process held it
      through a descriptor (FDES kind regular, path "PATH (deleted)") or a mapping (AREA kind
      file_private or file_shared, path "PATH (deleted)"): no path reaches it, so its contents are
      saved with it. One item per file in the file, in the first PROC whose process refers to it
      (later ones reach it by `device` and `object_id` alone), after the MEMF items and their MDAT
      and before MMST, in ascending order of `object_id`. Its contents follow directly as MDAT
      items. A restore makes the file again in the directory of `path` (at `path` if nothing is
      there, else at a new name beside it; mode, owner, contents, size), keeps it open, deletes it
      again, and gives every FDES and AREA with its `device` and `object_id` as device and inode
      and a path ending in " (deleted)", in any process, that one file.
    seq:
      - id: object_id
        type: u8
        valid:
          min: 1
        doc: The file's inode number (st_ino), not 0; the `inode` of the FDES and AREA items that refer to it.
      - id: device
        type: u8
        doc: st_dev of the file; the `device` of the FDES and AREA items that refer to it.
      - id: size
        type: u8
        doc: The file's size in bytes (st_size), below 2^63 (a reader checks that; not expressed here).
      - id: mode
        type: u4
        valid:
          expr: (_ & 0xf000) == 0x8000
        doc: st_mode; its type bits are 0x8000, a regular file.
      - id: uid
        type: u4
        doc: Owner's user id (st_uid).
      - id: gid
        type: u4
        doc: Owner's group id (st_gid).
      - id: len_path
        type: u2
        valid:
          min: 2
          max: 4096
        doc: Length in bytes of `path`, at least 2.
      - id: path
        size: len_path
        valid:
          expr: _.first == 0x2f and _.last != 0x2f and _.min != 0
        doc: |
          The path the file had when it was deleted, bytes, as /proc shows it without the
          " (deleted)" suffix: absolute (first byte '/'), not ending in '/', no NUL.

  memory_layout:
    doc: MMST, memory layout - the mm fields the kernel keeps per process (what prctl PR_SET_MM_MAP takes back) and the auxiliary vector.
    seq:
      - id: start_code
        type: u8
        doc: Start of the text segment.
      - id: end_code
        type: u8
        doc: End of the text segment.
      - id: start_data
        type: u8
        doc: Start of the data segment.
      - id: end_data
        type: u8
        doc: End of the data segment.
      - id: start_brk
        type: u8
        doc: Start of the heap.
      - id: brk
        type: u8
        doc: Current program break.
      - id: start_stack
        type: u8
        doc: Start (top) of the main thread's stack.
      - id: arg_start
        type: u8
        doc: Start of the argument strings.
      - id: arg_end
        type: u8
        doc: End of the argument strings.
      - id: env_start
        type: u8
        doc: Start of the environment strings.
      - id: env_end
        type: u8
        doc: End of the environment strings.
      - id: num_auxv
        type: u4
        valid:
          max: 65536
        doc: Number of entries in `auxv`.
      - id: auxv
        type: aux_entry
        repeat: expr
        repeat-expr: num_auxv
        doc: The auxiliary vector as in /proc/PID/auxv.

  aux_entry:
    doc: One auxiliary-vector entry.
    seq:
      - id: type
        type: u8
        doc: AT_* type.
      - id: value
        type: u8
        doc: Value.

  memory_area:
    doc: |
      AREA, memory area - one memory mapping (a line of /proc/PID/maps). The pages listed in
      `runs` follow it, in order, as PAGE items; pages not listed are not stored (never touched,
      identical to the backing file, guard pages: GARD, or the pages of a shared memfd mapping
      or of a shared mapping of a deleted file, which are the object's: MDAT).
    seq:
      - id: start
        type: u8
        doc: First address of the area.
      - id: end
        type: u8
        valid:
          expr: _ > start
        doc: Address just past the area; greater than `start`.
      - id: file_offset
        type: u8
        doc: Offset in the backing file of the area's first byte (0 for anonymous areas; for sysv_shared the offset in the segment; for memfd the offset in the object).
      - id: prot
        type: u4
        doc: Protection, PROT_READ 1, PROT_WRITE 2, PROT_EXEC 4.
      - id: map_flags
        type: u4
        doc: |
          Mapping flags, MAP_SHARED 0x01, MAP_PRIVATE 0x02, MAP_ANONYMOUS 0x20, MAP_GROWSDOWN
          0x100, MAP_NORESERVE 0x4000 (anonymous and private file areas mapped with it, smaps
          "nr"). Readers do not check them.
      - id: kind
        type: u1
        enum: memory_area_kind
        valid:
          in-enum: true
        doc: What backs the area, which decides how restore recreates it.
      - id: device
        type: u8
        doc: Device number of the backing file (0 if none).
      - id: inode
        type: u8
        doc: |
          Inode number of the backing file (0 if none); for sysv_shared the segment's id, that of
          an SHMS item of the PROC; for memfd the object's inode, the `object_id` of a MEMF item
          of this or an earlier PROC (with `device` its device); for a file_private or file_shared
          area whose path ends in " (deleted)" the deleted file's inode, the `object_id` of a DELF
          item of this or an earlier PROC (with `device` its device).
      - id: len_path
        type: u2
        valid:
          max: 4096
        doc: Length in bytes of `path`.
      - id: path
        size: len_path
        doc: Path of the backing file, or a pseudo name such as "[heap]", bytes.
      - id: num_runs
        type: u4
        valid:
          max: 65536
        doc: Number of entries in `runs`.
      - id: runs
        type: page_run
        repeat: expr
        repeat-expr: num_runs
        doc: The runs of pages whose contents follow as PAGE items.

  page_run:
    doc: A run of consecutive pages of an area whose contents follow in PAGE items.
    seq:
      - id: first_page
        type: u8
        doc: First page of the run, counted from the area's start.
      - id: page_count
        type: u8
        doc: Number of pages in the run.

  page_data:
    doc: |
      PAGE, page data - the contents of consecutive pages starting at `address`. Writers split
      long runs into items of at most 1 MiB of data.
    seq:
      - id: address
        type: u8
        doc: Address of the first page.
      - id: data
        size-eos: true
        valid:
          expr: _.size > 0 and _.size % _root.header.page_size == 0
        doc: Page contents, the rest of the payload; a positive whole number of pages (header `page_size`).

  memory_advice:
    doc: |
      MADV, memory advice - what the process asked of its memory beyond the mappings, which a
      fresh mmap does not have: for the process PR_SET_THP_DISABLE, PR_SET_MDWE,
      mlockall(MCL_FUTURE), PR_SET_MEMORY_MERGE and the membarrier registrations, and per area the flags of mlock/mlock2 and
      madvise (the VmFlags of /proc/PID/smaps). At most one per PROC, after the
      last AREA and its PAGE items; absent when there is no advice. The bit values are the
      format's own.
    seq:
      - id: process_flags
        type: u4
        valid:
          expr: _ <= 0x3ff and ((_ & 4) == 0 or (_ & 2) != 0) and ((_ & 0x10) == 0 or (_ & 8) != 0)
        doc: |
          0x1 transparent huge pages disabled (prctl PR_SET_THP_DISABLE), 0x2 refuse exec gain
          (prctl PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN), 0x4 that not inherited by fork's children
          (PR_MDWE_NO_INHERIT, only with 0x2), 0x8 lock future (mlockall MCL_FUTURE), 0x10 lock
          future on fault (MCL_ONFAULT, only with 0x8), 0x20 merge all (prctl
          PR_SET_MEMORY_MERGE: KSM for every area), the membarrier registrations 0x40 private
          expedited (MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED), 0x80 private expedited sync
          core, 0x100 private expedited rseq, 0x200 global expedited; other bits zero.
      - id: num_areas
        type: u4
        valid:
          max: 65536
        doc: Number of entries in `areas`.
      - id: areas
        type: advised_area
        repeat: expr
        repeat-expr: num_areas
        doc: The areas that carry advice, ascending, without overlap.

  advised_area:
    doc: The advice of one area, whose range equals that of one of the process's AREA items.
    seq:
      - id: start
        type: u8
        doc: First address of the area.
      - id: end
        type: u8
        valid:
          expr: _ > start
        doc: Address just past the area, above `start`.
      - id: advice
        type: u4
        valid:
          expr: >-
            _ != 0 and _ <= 0x3ff and ((_ & 2) == 0 or (_ & 1) != 0)
            and (_ & 0x60) != 0x60 and (_ & 0x300) != 0x300
        doc: |
          Flags, not 0: 0x1 locked (mlock), 0x2 lock on fault (mlock2 MLOCK_ONFAULT, only with
          0x1), 0x4 MADV_DONTDUMP, 0x8 MADV_DONTFORK, 0x10 MADV_WIPEONFORK, 0x20 MADV_HUGEPAGE,
          0x40 MADV_NOHUGEPAGE (not with 0x20), 0x80 MADV_MERGEABLE, 0x100 MADV_SEQUENTIAL,
          0x200 MADV_RANDOM (not with 0x100).

  guard_regions:
    doc: |
      GARD, guard regions - the page ranges of the process made with madvise(MADV_GUARD_INSTALL)
      (Linux 6.13+) that raise SIGSEGV on any access. They have no area of their own: each lies
      within one AREA of the PROC (a consumer checks that), and Linux keeps them as page-table
      markers (pagemap bit 58, PAGEMAP_SCAN PAGE_IS_GUARD). Their pages hold no data and are in
      no run and no PAGE item. At most one per PROC, after the last AREA and its PAGE items and
      before MADV;
      absent when the process has none.
    seq:
      - id: num_ranges
        type: u4
        valid:
          min: 1
          max: 65536
        doc: Number of entries in `ranges`, at least 1.
      - id: ranges
        type: 'guard_range(_index == 0 ? 0 : ranges[_index - 1].end)'
        repeat: expr
        repeat-expr: num_ranges
        doc: The guard regions, ascending, without overlap.

  guard_range:
    doc: One guard region, a range of whole pages inside one of the process's areas.
    params:
      - id: previous_end
        type: u8
        doc: The `end` of the range before this one, 0 for the first.
    seq:
      - id: start
        type: u8
        valid:
          min: previous_end
        doc: First address of the range, not below the previous range's `end`.
      - id: end
        type: u8
        valid:
          expr: _ > start
        doc: Address just past the range, above `start`.

  file_lock:
    doc: |
      FLCK, file lock - a lock held through the descriptor whose FDES (and FOWN) it follows:
      flock, a POSIX record lock or an OFD lock, shared or exclusive, over `length` bytes from
      `start` (0: to the end of the file).
    seq:
      - id: fd
        type: s4
        valid:
          min: 0
        doc: The descriptor, not negative.
      - id: kind
        type: u1
        enum: file_lock_kind
        valid:
          in-enum: true
        doc: flock, POSIX or OFD.
      - id: exclusive
        type: u1
        valid:
          max: 1
        doc: 1 exclusive (write), 0 shared (read).
      - id: start
        type: u8
        valid:
          expr: _ == 0 or kind != file_lock_kind::flock
        doc: First locked byte, below 2^63 (a reader checks that; not expressed here); 0 for flock.
      - id: length
        type: u8
        valid:
          expr: _ == 0 or kind != file_lock_kind::flock
        doc: Number of locked bytes, 0 to the end of the file; start + length below 2^63; 0 for flock.

  event_counter:
    doc: |
      EVFD, eventfd - the counter and mode of the eventfd behind a descriptor: directly after the
      first FDES (kind anon_inode, path "anon_inode:[eventfd]") of the description in each
      process. Its O_NONBLOCK is the FDES's `open_flags`.
    seq:
      - id: fd
        type: s4
        valid:
          min: 0
        doc: The descriptor, not negative.
      - id: count
        type: u8
        doc: The eventfd's counter, 0..2^64-2 (a reader checks the upper bound; not expressed here).
      - id: flags
        type: u4
        valid:
          max: 1
        doc: 0x1 semaphore mode (EFD_SEMAPHORE, a read takes 1); other bits zero.

  signal_queue_file:
    doc: |
      SGFD, signalfd - the signals the signalfd behind a descriptor accepts: directly after the
      first FDES (kind anon_inode, path "anon_inode:[signalfd]") of the description in each
      process. The signals themselves are the reading thread's and process's (PEND). Its
      O_NONBLOCK is the FDES's `open_flags`.
    seq:
      - id: fd
        type: s4
        valid:
          min: 0
        doc: The descriptor, not negative.
      - id: mask
        type: u8
        doc: |
          The mask given to signalfd(2): bit n is signal n + 1. Bits 8 (SIGKILL) and 18
          (SIGSTOP) are zero (a reader checks that; not expressed here).

  timer_file:
    doc: |
      TMFD, timerfd - the timer behind a descriptor: directly after the first FDES (kind
      anon_inode, path "anon_inode:[timerfd]") of the description in each process. Its
      O_NONBLOCK is the FDES's `open_flags`.
    seq:
      - id: fd
        type: s4
        valid:
          min: 0
        doc: The descriptor, not negative.
      - id: clock_id
        type: s4
        enum: timerfd_clock
        valid:
          in-enum: true
        doc: The timer's clock (Linux clockid_t numbers).
      - id: flags
        type: u4
        valid:
          expr: _ == 0 or _ == 1 or _ == 3
        doc: |
          timerfd_settime flags: 0x1 TFD_TIMER_ABSTIME (absolute timer), 0x2
          TFD_TIMER_CANCEL_ON_SET (only with 0x1); other bits zero.
      - id: ticks
        type: u8
        doc: Expirations not read yet (what the next read returns).
      - id: value_ns
        type: u8
        doc: |
          Next expiry in nanoseconds: the time that remained (relative timer) or the time on
          the clock (absolute timer, flags 0x1); 0 when the timer is disarmed.
      - id: interval_ns
        type: u8
        valid:
          expr: _ == 0 or value_ns != 0
        doc: Period in nanoseconds, 0 for a one-shot timer; 0 when `value_ns` is 0.

  event_poll_file:
    doc: |
      EPOL, epoll - the interest list of the epoll instance behind a descriptor (epoll_ctl
      EPOLL_CTL_ADD / EPOLL_CTL_MOD): directly after the first FDES (kind anon_inode, path
      "anon_inode:[eventpoll]") of the description in each process. Each watched file is the
      one open at its `target_fd` in the same process.
    seq:
      - id: fd
        type: s4
        valid:
          min: 0
        doc: The descriptor, not negative.
      - id: num_watches
        type: u4
        valid:
          max: 65536
        doc: Number of entries in `watches` (0 for an epoll instance that watches nothing).
      - id: watches
        type: 'epoll_watch(_index == 0 ? -1 : watches[_index - 1].target_fd)'
        repeat: expr
        repeat-expr: num_watches
        doc: One per watched file, in ascending `target_fd` order without repeats.

  epoll_watch:
    doc: |
      One watched file of an epoll instance: the number it was added through, the events asked
      for (as Linux keeps them) and the caller's epoll_data.
    params:
      - id: previous_target_fd
        type: s4
        doc: The `target_fd` of the entry before this one, -1 for the first.
    seq:
      - id: target_fd
        type: s4
        valid:
          expr: _ >= 0 and _ > previous_target_fd and _ != _parent.fd
        doc: |
          The watched descriptor, not negative, above the previous entry's, never the epoll's
          own `fd`.
      - id: events
        type: u4
        valid:
          expr: >-
            (_ & 0x0fffd800) == 0
            and ((_ & 0x10000000) == 0 or (_ & 0x4fffffe2) == 0)
            and ((_ & 0x18) == 0x18 or ((_ & 0x40000000) != 0 and (_ & 0x0fffffff) == 0))
        doc: |
          The event mask: 0x1 EPOLLIN, 0x2 EPOLLPRI, 0x4 EPOLLOUT, 0x8 EPOLLERR, 0x10 EPOLLHUP,
          0x20 EPOLLNVAL, 0x40 EPOLLRDNORM, 0x80 EPOLLRDBAND, 0x100 EPOLLWRNORM, 0x200
          EPOLLWRBAND, 0x400 EPOLLMSG, 0x2000 EPOLLRDHUP, and the flag bits 0x10000000
          EPOLLEXCLUSIVE, 0x20000000 EPOLLWAKEUP, 0x40000000 EPOLLONESHOT, 0x80000000 EPOLLET;
          other bits zero. EPOLLEXCLUSIVE only with 0x1, 0x4, 0x8, 0x10, 0x20000000 and
          0x80000000. EPOLLERR and EPOLLHUP (0x18) are set (Linux adds them to every watch),
          except in a fired EPOLLONESHOT watch, which keeps only its flag bits.
      - id: data
        type: u8
        doc: The caller's epoll_data, returned with every event of the watch.

  event_poll_idle:
    doc: |
      EPQT, idle epoll (optional item, not critical) - the epoll instance behind a descriptor had
      no event waiting to be reported when the checkpoint froze it (poll on a copy of it found it
      not readable), and the edge-triggered watches listed here (EPOLLET without EPOLLONESHOT)
      had a file that polled ready for the watch's events: their edge had been reported to the
      program. Directly after an EPOL of the same `fd`, and only when the list is not empty;
      writers that cannot tell write none. A restore that knows it adds the listed watches first,
      with the fired one-shot watches, and takes their ready events off the ready list
      (epoll_wait, timeout 0) before it adds the others, so that no edge is reported twice; a
      watch it does not list (its file became ready only after the checkpoint) keeps its event.
      One that does not know it skips it and reports such an edge once more, as before EPQT
      existed. A restore fails on an EPQT that follows no EPOL of its descriptor, and may reject
      or ignore an entry that names no edge-triggered, non-one-shot watch of that EPOL (a
      consumer's checks; not expressed here).
    seq:
      - id: fd
        type: s4
        valid:
          min: 0
        doc: The descriptor, not negative - the `fd` of the EPOL this item follows.
      - id: num_reported_edges
        type: u4
        valid:
          max: 65536
        doc: Number of entries in `reported_edges` (writers write at least 1).
      - id: reported_edges
        type: 'event_poll_reported_edge(_index == 0 ? -1 : reported_edges[_index - 1].target_fd)'
        repeat: expr
        repeat-expr: num_reported_edges
        doc: One per watch whose edge had been reported, in ascending `target_fd` order without repeats.

  event_poll_reported_edge:
    doc: |
      An edge-triggered watch of the EPOL before the EPQT whose file was ready at the checkpoint
      and whose edge had been reported, by the number it was added through.
    params:
      - id: previous_target_fd
        type: s4
        doc: The `target_fd` of the entry before this one, -1 for the first.
    seq:
      - id: target_fd
        type: s4
        valid:
          expr: _ >= 0 and _ > previous_target_fd and _ != _parent.fd
        doc: |
          The watched descriptor (the `target_fd` of a watch of the EPOL), not negative, above the
          previous entry's, never the epoll's own `fd`.

  inotify_file:
    doc: |
      INOT, inotify - the watches of the inotify instance behind a descriptor (inotify_init1,
      inotify_add_watch): directly after the first FDES (kind anon_inode, path
      "anon_inode:inotify", without brackets) of the description in each process. A restore makes
      a new instance and adds each watch again by its path, in ascending `wd` order, taking the
      numbers below a `wd` that no watch has with watches it removes at once, so that each watch
      gets its `wd` back (Linux hands them out in sequence from 1). Events waiting in the queue
      are not stored: writers refuse such an instance. Its O_NONBLOCK is the FDES's `open_flags`.
    seq:
      - id: fd
        type: s4
        valid:
          min: 0
        doc: The descriptor, not negative.
      - id: num_watches
        type: u4
        valid:
          max: 65536
        doc: |
          Number of entries in `watches` (0 for an instance that watches nothing). A reader checks
          26 bytes per entry (its fixed part) against the payload; not expressed here.
      - id: watches
        type: 'inotify_watch(_index == 0 ? 0 : watches[_index - 1].wd)'
        repeat: expr
        repeat-expr: num_watches
        doc: One per watch, in ascending `wd` order without repeats.

  inotify_watch:
    doc: |
      One watch of an inotify instance: its watch descriptor, its mask as /proc/PID/fdinfo shows
      it, and the watched inode (device and number) with the path found for it at the checkpoint.
    params:
      - id: previous_wd
        type: s4
        doc: The `wd` of the entry before this one, 0 for the first.
    seq:
      - id: wd
        type: s4
        valid:
          expr: _ > previous_wd
        doc: The watch descriptor inotify_add_watch returned, positive, above the previous entry's.
      - id: mask
        type: u4
        valid:
          expr: (_ & 0x08ff1000) == 0
        doc: |
          The mask as fdinfo shows it: the events 0x1 IN_ACCESS, 0x2 IN_MODIFY, 0x4 IN_ATTRIB, 0x8
          IN_CLOSE_WRITE, 0x10 IN_CLOSE_NOWRITE, 0x20 IN_OPEN, 0x40 IN_MOVED_FROM, 0x80
          IN_MOVED_TO, 0x100 IN_CREATE, 0x200 IN_DELETE, 0x400 IN_DELETE_SELF, 0x800
          IN_MOVE_SELF, and the flags 0x4000000 IN_EXCL_UNLINK and 0x80000000 IN_ONESHOT, which
          Linux keeps with the watch (writers write no other bit). Readers also take the other
          bits inotify_add_watch takes: 0x2000 IN_UNMOUNT, 0x4000 IN_Q_OVERFLOW, 0x8000
          IN_IGNORED, 0x1000000 IN_ONLYDIR, 0x2000000 IN_DONT_FOLLOW, 0x10000000 IN_MASK_CREATE,
          0x20000000 IN_MASK_ADD, 0x40000000 IN_ISDIR; other bits zero.
      - id: device
        type: u8
        doc: |
          st_dev of the watched inode (glibc makedev of major and minor, as an FDES `device`);
          fdinfo's `sdev` is the kernel's encoding (major above bit 20), which writers convert.
      - id: inode
        type: u8
        doc: st_ino of the watched inode.
      - id: len_path
        type: u2
        valid:
          min: 1
          max: 4096
        doc: Length in bytes of `path`, at least 1.
      - id: path
        size: len_path
        valid:
          expr: _.first == 0x2f
        doc: |
          A path to the watched inode at the checkpoint, bytes, absolute (first byte '/'), as the
          writer found it through the file handle fdinfo shows (open_by_handle_at). A restore
          fails when it no longer exists, and warns when it names another inode than `device`
          and `inode`.

  pid_fd:
    doc: |
      PIDF, pidfd - the process the pidfd behind a descriptor refers to (pidfd_open, clone's
      CLONE_PIDFD): directly after the first FDES (kind anon_inode, path "anon_inode:[pidfd]") of
      the description in each process. Only pidfds of processes of the file (live or zombie) are
      written: writers refuse those of processes outside the checkpointed tree, of reaped
      processes, of another pid namespace, and thread pidfds (PIDFD_THREAD). A restore opens a
      pidfd of the process it made with that pid (pidfd_open) once every process of the file
      exists, and fails when no PINF of the file (zombies included) has that pid (a consumer's
      check; not expressed here). Its O_NONBLOCK (PIDFD_NONBLOCK) is the FDES's `open_flags`.
    seq:
      - id: fd
        type: s4
        valid:
          min: 0
        doc: The descriptor, not negative.
      - id: pid
        type: s4
        valid:
          min: 1
        doc: |
          The pid of the process the pidfd refers to (`Pid:` in /proc/PID/fdinfo/FD), positive:
          the `pid` of a PINF of the file, a live process or a zombie.

  unix_socket:
    doc: |
      USCK, Unix socket - a connected Unix socket behind a descriptor, one end of a pair: of
      unnamed sockets (socketpair), or of a stream or seqpacket connection whose end a listener
      accepted carries the listener's name and whose client may have bound one (each named end
      has a USNM). Directly after the first FDES (kind socket, path "socket:[INODE]") of its
      description in each process that holds it. The first USCK of a socket in the file is
      followed by the socket's USNM, if it is named, then by its UDAT items (its receive queue).
      Both ends are held by processes of the file, or the peer has been closed (`peer_id` 0). A
      restore makes the pair again (socketpair, or for a named pair a connection under the same
      names), sets buffer sizes and options, sends each end's queued bytes through the other end,
      then shuts down the stored directions and sets the peek offset. Its O_NONBLOCK is the
      FDES's `open_flags`.
    seq:
      - id: fd
        type: s4
        valid:
          min: 0
        doc: The descriptor, not negative.
      - id: socket_id
        type: u8
        valid:
          min: 1
        doc: The socket's inode number, not 0; the `inode` of its FDES and the `socket_id` of its USNM and UDAT items.
      - id: peer_id
        type: u8
        valid:
          expr: _ != socket_id
        doc: The `socket_id` of the other end of the pair, never the socket's own; 0 when the other end has been closed.
      - id: type
        type: u1
        enum: unix_socket_type
        valid:
          in-enum: true
        doc: The socket type (Linux's SOCK_* numbers).
      - id: shutdown
        type: u1
        valid:
          max: 3
        doc: |
          Directions shut down at this end, as unix_diag reports them: 0x1 receiving, 0x2
          sending; other bits zero.
      - id: send_buffer
        type: u4
        doc: SO_SNDBUF as getsockopt returns it (twice what setsockopt was given).
      - id: receive_buffer
        type: u4
        doc: SO_RCVBUF as getsockopt returns it (twice what setsockopt was given).
      - id: options
        type: u4
        valid:
          max: 1
        doc: 0x1 SO_PASSCRED; other bits zero.
      - id: peek_offset
        type: s4
        valid:
          min: -1
        doc: SO_PEEK_OFF, -1 when off, else the offset in the queue at which the next MSG_PEEK reads.
      - id: queued_bytes
        type: u8
        doc: Bytes waiting in this end's receive queue, the sum of the data lengths of the socket's UDAT items.

  unix_socket_data:
    doc: |
      UDAT, Unix socket data - bytes waiting in the receive queue of the Unix socket `socket_id`,
      directly after the first USCK of that socket in the file (or its USNM, or the UDAT before
      it), in queue order: one item per message of a datagram or seqpacket socket, chunks of at
      most 1 MiB of the byte stream of a stream socket. A restore sends each item with one send
      through the other end of the pair.
    seq:
      - id: socket_id
        type: u8
        doc: The socket whose receive queue holds the bytes, that of the USCK it follows.
      - id: data
        size-eos: true
        doc: The bytes, the rest of the payload; may be empty (a message of 0 bytes).

  unix_socket_name:
    doc: |
      USNM, Unix socket name - the name the connected stream or seqpacket Unix socket `socket_id`
      is bound to (an accepted connection carries its listener's name; a client may have bound
      one before it connected), directly after the first USCK of that socket in the file and
      before its UDAT items; at most one per socket, never of a datagram socket (a consumer
      rejects a USNM elsewhere or of a datagram socket). A socket without one is unnamed. A
      restore makes a pair with a name at either end by a connection to a listener of its own
      bound to the name (a path in a private root, an abstract name with its exact length), with
      the other end bound to its own name first if it has one, before any listener of the file is
      bound, so that getsockname and getpeername show the same names as before.
    seq:
      - id: socket_id
        type: u8
        valid:
          min: 1
        doc: The socket the name is of, not 0; the `socket_id` of the USCK it follows.
      - id: len_name
        type: u2
        valid:
          min: 1
          max: 108
        doc: Length in bytes of `name`, 1 to 108 (the size of sun_path).
      - id: name
        size: len_name
        valid:
          expr: _.first == 0 or _.min != 0
        doc: |
          The name the socket is bound to (what getsockname returns), bytes: a path (first byte
          not NUL; absolute or relative, as bound; no NUL in it) or an abstract name (a NUL byte,
          then any bytes, NULs included; its exact length is part of it).

  unix_listener:
    doc: |
      ULSN, listening Unix socket - a Unix socket (stream or seqpacket) that listens, with no
      connection waiting to be accepted, behind a descriptor: directly after the first FDES (kind
      socket, path "socket:[INODE]") of its description in each process that holds it, instead of
      a USCK. Its name is a path (then `file_device` and `file_inode` are those of the socket
      file at the path, and `file_mode`, `file_uid` and `file_gid` its mode and owner) or an
      abstract name (a NUL byte, then bytes; all five fields 0). A restore makes a socket of the
      type, sets SO_PASSCRED, and for a path removes the file at the path if and only if it is a
      socket file with `file_device` and `file_inode` (the checkpointed process's, which nobody
      listens on any more; any other file fails the restore); then it binds (an abstract name
      with its exact length), listens with `backlog`, and for a path gives the new socket file the
      saved mode (its low 12 bits) and owner. An abstract name in use fails the restore. Its
      O_NONBLOCK is the FDES's `open_flags`.
    seq:
      - id: fd
        type: s4
        valid:
          min: 0
        doc: The descriptor, not negative.
      - id: type
        type: u1
        enum: unix_socket_type
        valid:
          expr: _ == unix_socket_type::stream or _ == unix_socket_type::seqpacket
        doc: The socket type, 1 (SOCK_STREAM) or 5 (SOCK_SEQPACKET), the types that listen.
      - id: len_name
        type: u2
        valid:
          min: 1
          max: 108
        doc: Length in bytes of `name`, 1 to 108 (the size of sun_path).
      - id: name
        size: len_name
        doc: |
          The name the socket is bound to, as unix_diag shows it, bytes: a path (first byte not
          NUL; writers cut it at its first NUL and write absolute paths only, which readers do not
          check) or an abstract name (a NUL byte, then any bytes; its exact length is part of it).
      - id: backlog
        type: u4
        doc: The backlog, sk_max_ack_backlog as unix_diag shows it for a listener; any value, 0 included.
      - id: options
        type: u4
        valid:
          max: 1
        doc: 0x1 SO_PASSCRED (the accepted connections inherit it); other bits zero.
      - id: file_device
        type: u8
        doc: For a path, st_dev of the socket file at the path; 0 for an abstract name.
      - id: file_inode
        type: u8
        valid:
          expr: 'name.first == 0 ? _ == 0 : _ != 0'
        doc: For a path, st_ino of the socket file, not 0; 0 for an abstract name (exactly then).
      - id: file_mode
        type: u4
        doc: For a path, st_mode of the socket file (S_IFSOCK and its permission bits); 0 for an abstract name.
      - id: file_uid
        type: u4
        doc: For a path, the owner of the socket file; 0 for an abstract name.
      - id: file_gid
        type: u4
        doc: For a path, the group of the socket file; 0 for an abstract name.

  inet_socket:
    doc: |
      ISCK, listening TCP socket - a TCP socket (IPv4 or IPv6) that listens, with no connection
      waiting to be accepted, behind a descriptor: directly after the first FDES (kind socket,
      path "socket:[INODE]") of its description in each process that holds it, as a USCK or a
      ULSN would be. A restore makes a new socket of the family, sets the options (IPV6_V6ONLY before
      bind), binds it to `address` and `port`, listens with `backlog` and fails when the
      address is in use. Its O_NONBLOCK is the FDES's `open_flags`. The options are kept because
      the connections the socket accepts inherit them.
    seq:
      - id: fd
        type: s4
        valid:
          min: 0
        doc: The descriptor, not negative.
      - id: family
        type: u1
        enum: inet_family
        valid:
          in-enum: true
        doc: The address family, 2 (AF_INET) or 10 (AF_INET6).
      - id: port
        type: u2
        doc: The port the socket is bound to, a number (little-endian like every field, not sin_port's network order).
      - id: address
        size: 16
        -cryo-dump: ip-address
        valid:
          expr: >-
            family == inet_family::inet6 or (_[4] == 0 and _[5] == 0 and _[6] == 0 and _[7] == 0
            and _[8] == 0 and _[9] == 0 and _[10] == 0 and _[11] == 0 and _[12] == 0 and _[13] == 0
            and _[14] == 0 and _[15] == 0)
        doc: |
          The address the socket is bound to, in network byte order: the 16 bytes of sin6_addr,
          or for IPv4 the 4 bytes of sin_addr followed by 12 zero bytes. All zero is the wildcard.
      - id: scope_id
        type: u4
        valid:
          expr: family == inet_family::inet6 or _ == 0
        doc: sin6_scope_id, the interface of a link-local IPv6 address; 0 for IPv4.
      - id: backlog
        type: u4
        doc: |
          The backlog, sk_max_ack_backlog as inet_diag shows it for a listener; 0 unknown (a
          restore listens with its own default and warns).
      - id: options
        type: u4
        valid:
          expr: _ <= 0x1f and (family == inet_family::inet6 or (_ & 0x8) == 0)
        doc: |
          The options that are on: 0x1 SO_REUSEADDR, 0x2 SO_REUSEPORT, 0x4 SO_KEEPALIVE, 0x8
          IPV6_V6ONLY (IPv6 only), 0x10 TCP_NODELAY; other bits zero.
      - id: defer_accept
        type: u4
        doc: TCP_DEFER_ACCEPT in seconds as getsockopt returns it; 0 off.
      - id: fastopen_queue
        type: u4
        doc: TCP_FASTOPEN, the queue length of pending Fast Open requests; 0 off.

  inet_datagram_socket:
    doc: |
      UDPS, UDP socket - a UDP socket (IPv4 or IPv6), bound or not, connected or not, with no
      datagram waiting to be read and not corked (UDP_CORK), behind a descriptor: directly after the
      first FDES (kind socket, path "socket:[INODE]") of its description in each process that holds
      it, as a USCK, a ULSN or an ISCK would be. Both endpoints have ISCK's layout of port, address
      and scope id. A restore makes a new socket of the family, sets the options (IPV6_V6ONLY before
      bind), the buffer sizes (SO_SNDBUFFORCE and SO_RCVBUFFORCE with half the saved values) and
      the type of service, binds it to the local address and port if `local_port` is not 0, connects
      it to the peer if `peer_port` is not 0, and fails when the address is in use. Its O_NONBLOCK is
      the FDES's `open_flags`. Multicast memberships and most other IP-level options are not saved.
    seq:
      - id: fd
        type: s4
        valid:
          min: 0
        doc: The descriptor, not negative.
      - id: family
        type: u1
        enum: inet_family
        valid:
          in-enum: true
        doc: The address family, 2 (AF_INET) or 10 (AF_INET6).
      - id: local_port
        type: u2
        doc: |
          The port the socket is bound to (getsockname), a number (little-endian like every field,
          not sin_port's network order); 0 when not bound yet (never bound, never sent).
      - id: local_address
        size: 16
        -cryo-dump: ip-address
        valid:
          expr: >-
            family == inet_family::inet6 or (_[4] == 0 and _[5] == 0 and _[6] == 0 and _[7] == 0
            and _[8] == 0 and _[9] == 0 and _[10] == 0 and _[11] == 0 and _[12] == 0 and _[13] == 0
            and _[14] == 0 and _[15] == 0)
        doc: |
          The address the socket is bound to, in network byte order: the 16 bytes of sin6_addr,
          or for IPv4 the 4 bytes of sin_addr followed by 12 zero bytes. All zero is the wildcard;
          for a connected socket, the address its connect chose, unless it was bound to one.
      - id: local_scope_id
        type: u4
        valid:
          expr: family == inet_family::inet6 or _ == 0
        doc: sin6_scope_id of the local address, the interface of a link-local IPv6 address; 0 for IPv4.
      - id: peer_port
        type: u2
        valid:
          expr: _ == 0 or local_port != 0
        doc: |
          The port of the peer the socket is connected to (getpeername), a number; 0 when not
          connected. A connected socket is bound: not 0 only when `local_port` is not 0.
      - id: peer_address
        size: 16
        -cryo-dump: ip-address
        valid:
          expr: >-
            family == inet_family::inet6 or (_[4] == 0 and _[5] == 0 and _[6] == 0 and _[7] == 0
            and _[8] == 0 and _[9] == 0 and _[10] == 0 and _[11] == 0 and _[12] == 0 and _[13] == 0
            and _[14] == 0 and _[15] == 0)
        doc: The peer's address, laid out as `local_address`; all zero when not connected (readers take any bytes then).
      - id: peer_scope_id
        type: u4
        valid:
          expr: family == inet_family::inet6 or _ == 0
        doc: sin6_scope_id of the peer's address; 0 for IPv4.
      - id: options
        type: u4
        valid:
          expr: _ <= 0xf and (family == inet_family::inet6 or (_ & 0x8) == 0)
        doc: |
          The options that are on: 0x1 SO_REUSEADDR, 0x2 SO_REUSEPORT, 0x4 SO_BROADCAST, 0x8
          IPV6_V6ONLY (IPv6 only); other bits zero.
      - id: send_buffer
        type: u4
        doc: SO_SNDBUF as getsockopt returns it (twice what setsockopt was given).
      - id: receive_buffer
        type: u4
        doc: SO_RCVBUF as getsockopt returns it (twice what setsockopt was given).
      - id: tos
        type: u4
        valid:
          max: 255
        doc: IP_TOS (IPv4) or IPV6_TCLASS (IPv6), the byte each datagram sent carries, 0 to 0xff.

  terminal_state:
    doc: |
      TTYS, terminal - the terminal behind a descriptor of kind terminal: its line settings
      (struct termios2, as ioctl TCGETS2 returns it, field by field without the struct's
      padding), its window size (struct winsize, ioctl TIOCGWINSZ) and how the process stood to
      it. Directly after the first FDES of kind terminal of each terminal (by `rdev`) in each
      process, once per terminal rather than per open file description. A restore puts the
      terminal it is given in place of every terminal of the file and sets the first TTYS's line
      settings on it; it does not set the window size, but sends SIGWINCH to a process whose
      stored size differs from the terminal's.
    seq:
      - id: fd
        type: s4
        valid:
          min: 0
        doc: The descriptor, not negative.
      - id: flags
        type: u4
        valid:
          expr: _ == 0 or _ == 1 or _ == 3
        doc: |
          0x1 the terminal is the controlling terminal of the process's session (stat tty_nr is
          the FDES's `rdev`; for /dev/tty, tty_nr is not 0), 0x2 the process's group was the
          terminal's foreground group (stat tpgid is its pgid), only with 0x1; other bits zero.
      - id: iflag
        type: u4
        doc: c_iflag, the input modes.
      - id: oflag
        type: u4
        doc: c_oflag, the output modes.
      - id: cflag
        type: u4
        doc: c_cflag, the control modes (BOTHER 0x1000 in CBAUD when the speeds are `ispeed` and `ospeed`).
      - id: lflag
        type: u4
        doc: c_lflag, the local modes.
      - id: line
        type: u1
        doc: c_line, the line discipline (0 N_TTY).
      - id: cc
        size: 19
        doc: c_cc, the 19 control characters (NCCS), by Linux's indices (0 VINTR ... 16 VEOL2; 17 and 18 unused).
      - id: ispeed
        type: u4
        doc: c_ispeed, the input speed in bits per second.
      - id: ospeed
        type: u4
        doc: c_ospeed, the output speed in bits per second.
      - id: rows
        type: u2
        doc: ws_row, the height in characters (0 when nobody set it).
      - id: columns
        type: u2
        doc: ws_col, the width in characters (0 when nobody set it).
      - id: xpixel
        type: u2
        doc: ws_xpixel, the width in pixels.
      - id: ypixel
        type: u2
        doc: ws_ypixel, the height in pixels.

  file_owner:
    doc: |
      FOWN, file owner - the signal-driven I/O settings (fcntl F_SETOWN_EX, F_SETSIG) of the
      open file description behind the descriptor whose FDES it follows; written only when an
      owner or a signal is set.
    seq:
      - id: fd
        type: s4
        valid:
          min: 0
        doc: The descriptor, not negative.
      - id: owner_kind
        type: u1
        enum: file_owner_kind
        valid:
          in-enum: true
        doc: What `owner` names, as F_GETOWN_EX reports it.
      - id: owner
        type: s4
        valid:
          min: 0
        doc: Thread, process or process group id; 0 for no owner.
      - id: signal
        type: u4
        valid:
          expr: _ <= 64 and (_ != 0 or owner != 0)
        doc: Signal sent when I/O becomes possible (F_SETSIG), 1..64; 0 for SIGIO. Not 0 together with `owner`.

  file_descriptor:
    doc: |
      FDES, file descriptor - one open file descriptor. Descriptors with the same
      `description_id` share one open file description (offset and status flags); descriptors
      with the same non-zero `pipe_id` are ends of the same pipe, whose contents are in the FIFO
      section.
    seq:
      - id: fd
        type: s4
        valid:
          min: 0
        doc: Descriptor number, not negative.
      - id: kind
        type: u1
        enum: file_kind
        valid:
          in-enum: true
        doc: What the descriptor refers to.
      - id: fd_flags
        type: u4
        doc: Descriptor flags, FD_CLOEXEC 1.
      - id: open_flags
        type: u4
        doc: File status flags (O_* as on Linux x86-64).
      - id: offset
        type: s8
        doc: File offset.
      - id: mode
        type: u4
        doc: st_mode of the file (type and permission bits).
      - id: device
        type: u8
        doc: st_dev of the file.
      - id: inode
        type: u8
        doc: st_ino of the file.
      - id: rdev
        type: u8
        doc: st_rdev of the file (device number of a device file).
      - id: description_id
        type: u8
        doc: Id of the open file description; equal for descriptors that share one.
      - id: pipe_id
        type: u8
        doc: Id of the pipe (matches a FINF `pipe_id`), 0 if not a pipe or FIFO.
      - id: len_path
        type: u2
        valid:
          max: 4096
        doc: Length in bytes of `path`.
      - id: path
        size: len_path
        doc: Path (the /proc/PID/fd link target), bytes.

  seccomp_filter:
    doc: |
      SCMF, seccomp filter - one classic BPF filter (seccomp SECCOMP_SET_MODE_FILTER) of a thread
      of the process, as PTRACE_SECCOMP_GET_FILTER returns it, with its flags
      (PTRACE_SECCOMP_GET_METADATA) and the filter it was stacked on. Written after the
      descriptor items and before the first THRD, parents first, numbered 1, 2, 3 ... in each
      PROC; a filter shared by threads (inherited, or installed with SECCOMP_FILTER_FLAG_TSYNC)
      once. A thread's SCMT names the last filter of its chain; a restore installs the chain again,
      the filter with `parent_id` 0 first, as the last calls made in the thread.
    seq:
      - id: filter_id
        type: u4
        valid:
          min: 1
        doc: The filter's number in its PROC, from 1 (the n-th SCMF of a PROC has n).
      - id: parent_id
        type: u4
        valid:
          expr: _ < filter_id
        doc: The `filter_id` of the filter it was installed on top of, written before it; 0 for the first of a chain.
      - id: flags
        type: u4
        valid:
          expr: _ == 0 or _ == 2
        doc: 0x2 SECCOMP_FILTER_FLAG_LOG (actions other than SECCOMP_RET_ALLOW are logged); other bits zero.
      - id: num_program
        type: u4
        valid:
          min: 1
          max: 4096
        doc: Number of instructions in `program`, 1 ... 4096 (BPF_MAXINSNS).
      - id: program
        type: bpf_instruction
        repeat: expr
        repeat-expr: num_program
        doc: The filter's program, in order.

  bpf_instruction:
    doc: One classic BPF instruction, struct sock_filter.
    seq:
      - id: code
        type: u2
        doc: Opcode.
      - id: jt
        type: u1
        doc: Instructions to skip when a conditional jump's test holds.
      - id: jf
        type: u1
        doc: Instructions to skip when it does not.
      - id: k
        type: u4
        doc: Operand (an offset in struct seccomp_data, a constant, or the SECCOMP_RET_* action of a return).

  thread_info:
    doc: TINF, thread info - per-thread kernel state. First item of a THRD section.
    seq:
      - id: tid
        type: s4
        doc: Thread id.
      - id: blocked
        type: u8
        doc: Blocked signal mask (bit n-1 is signal n).
      - id: altstack_sp
        type: u8
        doc: Alternate signal stack base (ss_sp).
      - id: altstack_flags
        type: u4
        doc: Alternate signal stack flags (ss_flags).
      - id: altstack_size
        type: u8
        doc: Alternate signal stack size (ss_size).
      - id: clear_child_tid
        type: u8
        doc: Address set by set_tid_address (CLONE_CHILD_CLEARTID).
      - id: robust_list
        type: u8
        doc: Head of the robust futex list (set_robust_list).
      - id: robust_list_len
        type: u8
        doc: Length of the robust list head structure.
      - id: rseq_address
        type: u8
        doc: Address of the registered rseq area, 0 if none.
      - id: rseq_length
        type: u4
        doc: Length of the rseq area.
      - id: rseq_signature
        type: u4
        doc: rseq signature.
      - id: restart
        type: u1
        enum: syscall_restart
        valid:
          in-enum: true
        doc: How the registers were adjusted for a system call the thread was inside at the freeze.
      - id: len_comm
        type: u2
        valid:
          max: 4096
        doc: Length in bytes of `comm`.
      - id: comm
        size: len_comm
        doc: Thread name (/proc/PID/task/TID/comm), bytes.

  registers:
    doc: GREG, registers - the general-purpose registers of a thread, the 27 words of the x86-64 user_regs_struct (NT_PRSTATUS) in its order.
    seq:
      - id: r15
        type: u8
        doc: r15.
      - id: r14
        type: u8
        doc: r14.
      - id: r13
        type: u8
        doc: r13.
      - id: r12
        type: u8
        doc: r12.
      - id: rbp
        type: u8
        doc: rbp.
      - id: rbx
        type: u8
        doc: rbx.
      - id: r11
        type: u8
        doc: r11.
      - id: r10
        type: u8
        doc: r10.
      - id: r9
        type: u8
        doc: r9.
      - id: r8
        type: u8
        doc: r8.
      - id: rax
        type: u8
        doc: rax.
      - id: rcx
        type: u8
        doc: rcx.
      - id: rdx
        type: u8
        doc: rdx.
      - id: rsi
        type: u8
        doc: rsi.
      - id: rdi
        type: u8
        doc: rdi.
      - id: orig_rax
        type: u8
        doc: System call number at entry (orig_rax), or -1 outside a system call.
      - id: rip
        type: u8
        doc: Instruction pointer.
      - id: cs
        type: u8
        doc: Code segment selector.
      - id: eflags
        type: u8
        doc: Flags register.
      - id: rsp
        type: u8
        doc: Stack pointer.
      - id: ss
        type: u8
        doc: Stack segment selector.
      - id: fs_base
        type: u8
        doc: FS base address (thread pointer).
      - id: gs_base
        type: u8
        doc: GS base address.
      - id: ds
        type: u8
        doc: Data segment selector.
      - id: es
        type: u8
        doc: Extra segment selector.
      - id: fs
        type: u8
        doc: FS segment selector.
      - id: gs
        type: u8
        doc: GS segment selector.

  extended_state:
    doc: |
      XSTA, extended state - a thread's FPU/SSE/AVX state as the kernel's XSAVE area
      (NT_X86_XSTATE), with the feature mask (XCR0) of the CPU it was taken on. The area's size
      depends on the CPU; a restore must refuse a CPU lacking features set in `xcr0`.
    seq:
      - id: xcr0
        type: u8
        doc: XCR0 feature mask of the CPU the state was saved on.
      - id: size
        type: u4
        valid:
          expr: _ == _io.size - _io.pos
        doc: Size in bytes of `area`, which is the rest of the payload.
      - id: area
        size: size
        doc: The XSAVE area.

  io_priority:
    doc: |
      IOPR, the thread's I/O priority as ioprio_get reports it (ionice): class, the 6.x hint bits
      and level; class none (the default) has hint and level 0. One per thread, after its SCHD.
    seq:
      - id: class
        type: u1
        enum: io_priority_class
        valid:
          in-enum: true
        doc: I/O scheduling class.
      - id: hint
        type: u2
        valid:
          expr: _ <= 0x3ff and (_ == 0 or class != io_priority_class::none)
        doc: Hint bits (bits 3-12 of the ioprio value); 0 for class none.
      - id: level
        type: u1
        valid:
          expr: _ <= 7 and (_ == 0 or class != io_priority_class::none)
        doc: Level 0 (highest) to 7; 0 for class none.

  thread_scheduling:
    doc: |
      SCHD, how the kernel schedules one thread: policy with real-time priority and
      SCHED_RESET_ON_FORK, nice value, timer slack and CPU affinity. One per THRD, after its PEND,
      also when every value is Linux's default. The C# reader also requires at least one bit set
      in `affinity`, which a Kaitai expression cannot say over a list.
    seq:
      - id: policy
        type: u1
        enum: sched_policy
        valid:
          in-enum: true
        doc: Linux's policy number; SCHED_DEADLINE (6) cannot be stored.
      - id: reset_on_fork
        type: u1
        valid:
          max: 1
        doc: 1 if SCHED_RESET_ON_FORK is set (children start with SCHED_OTHER and nice >= 0).
      - id: nice
        type: s4
        valid:
          min: -20
          max: 19
        doc: Nice value, -20 ... 19, kept for every policy.
      - id: rt_priority
        type: u1
        valid:
          expr: >-
            policy == sched_policy::sched_fifo or policy == sched_policy::sched_rr
            ? _ >= 1 and _ <= 99 : _ == 0
        doc: Real-time priority, 1 ... 99 for SCHED_FIFO and SCHED_RR, 0 for the other policies.
      - id: timer_slack_ns
        type: u8
        doc: Timer slack in nanoseconds (PR_GET_TIMERSLACK).
      - id: num_affinity
        type: u4
        valid:
          min: 1
          max: 128
        doc: Number of entries in `affinity` (up to 8192 CPUs).
      - id: affinity
        type: cpu_mask_word
        repeat: expr
        repeat-expr: num_affinity
        doc: The CPUs the thread may run on, as Linux's cpumask words; CPU n is bit n % 64 of entry n / 64.

  cpu_mask_word:
    doc: 64 CPUs of an affinity mask.
    seq:
      - id: bits
        type: u8
        doc: Bit b is CPU 64 * (index of the entry) + b.

  thread_seccomp:
    doc: |
      SCMT, thread seccomp mode - the seccomp mode of a thread under seccomp (Seccomp: in
      /proc/PID/task/TID/status), last in its THRD, after IOPR; none for a thread not under
      seccomp. In filter mode it names the last filter of the thread's chain, an SCMF of the
      same PROC; the rest follows by `parent_id`.
    seq:
      - id: mode
        type: u1
        enum: seccomp_mode
        valid:
          in-enum: true
        doc: Strict (1) or filter (2); a thread not under seccomp has no SCMT.
      - id: filter_id
        type: u4
        valid:
          expr: 'mode == seccomp_mode::filter ? _ != 0 : _ == 0'
        doc: The `filter_id` of the last filter of the chain (installed last) in filter mode, not 0; 0 in strict mode.

  pipe_info:
    doc: |
      FINF, pipe info - one pipe or FIFO in the FIFO section: its id (shared with the FDES items
      of its ends), capacity, and how many unread bytes it held. Its contents follow as FBUF
      items; when `packetized` is set each FBUF is one packet (O_DIRECT pipes keep message
      boundaries), else they are consecutive chunks.
    seq:
      - id: pipe_id
        type: u8
        doc: Pipe id, matching the `pipe_id` of the FDES items of its ends.
      - id: kind
        type: u1
        enum: pipe_kind
        valid:
          in-enum: true
        doc: Anonymous pipe (0) or named FIFO (1).
      - id: packetized
        type: u1
        valid:
          max: 1
        doc: 1 if the pipe is packetized (O_DIRECT), else 0.
      - id: capacity
        type: u4
        doc: Capacity in bytes (F_GETPIPE_SZ).
      - id: byte_count
        type: u8
        valid:
          expr: _ <= capacity
        doc: Unread bytes the pipe held, which follow as FBUF items; at most `capacity`.

  pipe_data:
    doc: FBUF, pipe data - unread bytes of the pipe `pipe_id`, following its FINF. Writers split long contents into items of at most 1 MiB.
    seq:
      - id: pipe_id
        type: u8
        doc: Id of the pipe the bytes belong to.
      - id: data
        size-eos: true
        doc: The bytes, the rest of the payload (one packet of a packetized pipe).

  checkpoint_stats:
    doc: STAT, checkpoint statistics (optional item, not critical) - how the checkpoint went.
    seq:
      - id: frozen_ns
        type: u8
        doc: How long the processes were frozen, in nanoseconds.
      - id: pages_written
        type: u8
        doc: Number of pages written as PAGE items.
      - id: processes
        type: u4
        doc: Number of processes saved.
      - id: threads
        type: u4
        doc: Number of threads saved.

  trailer:
    doc: TRLR, trailer - the last frame; nothing follows it.
    seq:
      - id: item_count
        type: u8
        doc: Number of frames before the trailer, section begin and end frames included.
      - id: chain_crc
        type: u4
        doc: |
          CRC-32C over the header's checksum and then every item's checksum before the trailer,
          each as 4 little-endian bytes, in file order; detects items dropped, repeated or
          reordered.

enums:
  timerfd_clock:
    0:
      id: realtime
      doc: CLOCK_REALTIME, wall-clock time.
    1:
      id: monotonic
      doc: CLOCK_MONOTONIC, time since boot, not counting suspend.
    7:
      id: boottime
      doc: CLOCK_BOOTTIME, time since boot, counting suspend.
    8:
      id: realtime_alarm
      doc: CLOCK_REALTIME_ALARM, like CLOCK_REALTIME and wakes the system from suspend.
    9:
      id: boottime_alarm
      doc: CLOCK_BOOTTIME_ALARM, like CLOCK_BOOTTIME and wakes the system from suspend.
  file_lock_kind:
    0:
      id: flock
      doc: flock(2), the whole file, owned by the open file description.
    1:
      id: posix
      doc: A POSIX record lock (fcntl F_SETLK), owned by the process.
    2:
      id: ofd
      doc: An OFD lock (fcntl F_OFD_SETLK), owned by the open file description.
  file_owner_kind:
    0:
      id: thread
      doc: F_OWNER_TID, one thread.
    1:
      id: process
      doc: F_OWNER_PID, a process.
    2:
      id: process_group
      doc: F_OWNER_PGRP, a process group.
  arch:
    62:
      id: x86_64
      doc: EM_X86_64.
  process_state:
    0:
      id: alive
      doc: A live process.
    1:
      id: zombie
      doc: A process that has exited and not yet been reaped; `exit_status` holds its status.
    2:
      id: stopped
      doc: |
        A live process in a job-control stop (SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU); restored,
        then stopped again with SIGSTOP before it runs.
  memory_area_kind:
    0:
      id: anonymous_private
      doc: Private anonymous memory.
    1:
      id: anonymous_shared
      doc: Shared anonymous memory.
    2:
      id: file_private
      doc: |
        Private mapping of a file. Path "PATH (deleted)": a file deleted while mapped, whose
        device and inode are those of a DELF item of this or an earlier PROC; its copy-on-write
        pages in runs.
    3:
      id: file_shared
      doc: |
        Shared mapping of a file. Path "PATH (deleted)": a file deleted while mapped, whose
        device and inode are those of a DELF item of this or an earlier PROC; no runs (the pages
        are the file's, in MDAT items).
    4:
      id: heap
      doc: The heap ([heap]).
    5:
      id: stack
      doc: The main thread's stack ([stack]).
    6:
      id: vdso
      doc: The kernel's [vdso].
    7:
      id: vvar
      doc: The kernel's [vvar].
    8:
      id: vvar_vclock
      doc: The kernel's [vvar_vclock].
    9:
      id: vsyscall
      doc: The kernel's [vsyscall] page.
    10:
      id: sysv_shared
      doc: |
        An attachment (shmat) of the System V shared memory segment whose id is `inode` (an SHMS
        item of the PROC); MAP_SHARED, path "/SYSV<key as 8 hex digits> (deleted)".
    11:
      id: memfd
      doc: |
        A mapping of the memfd object whose device and inode are `device` and `inode` (a MEMF
        item of this or an earlier PROC); path "/memfd:NAME (deleted)". MAP_SHARED (no runs: the
        pages are the object's, in MDAT items) or MAP_PRIVATE (its copy-on-write pages in runs,
        as file_private). Shared anonymous memory (/dev/zero) stays anonymous_shared.
  file_kind:
    0:
      id: regular
      doc: |
        Regular file. Path "PATH (deleted)": a file deleted while open, whose device and inode
        are those of a DELF item of this or an earlier PROC.
    1:
      id: directory
      doc: Directory.
    2:
      id: char_device
      doc: Character device.
    3:
      id: block_device
      doc: Block device.
    4:
      id: pipe
      doc: Anonymous pipe.
    5:
      id: fifo
      doc: Named FIFO.
    6:
      id: socket
      doc: |
        Socket: exactly one of USCK (a connected Unix socket: an end of a pair made by
        socketpair, or of a named connection, whose names are USNM items), ULSN (a listening Unix
        socket), ISCK (a listening TCP socket) or UDPS (a UDP socket) follows the first FDES of a
        socket description in each process; path "socket:[INODE]".
    7:
      id: anon_inode
      doc: |
        Anonymous inode; its path names the item after the first FDES of its description in each
        process: "anon_inode:[eventfd]" EVFD, "anon_inode:[signalfd]" SGFD,
        "anon_inode:[timerfd]" TMFD, "anon_inode:[eventpoll]" EPOL (with an EPQT after it when the
        idle instance had reported edges), "anon_inode:inotify" (no brackets) INOT, "anon_inode:[pidfd]" PIDF.
        Writers write no other anonymous inode.
    8:
      id: other
      doc: Anything else.
    9:
      id: memfd
      doc: |
        A memfd (memfd_create): `device` and `inode` are those of a MEMF item of this or an
        earlier PROC; path "/memfd:NAME (deleted)".
    10:
      id: terminal
      doc: |
        A terminal a program runs on, by `rdev`: a pseudo-terminal's slave end (majors 136-143),
        a virtual console or serial line (major 4), /dev/tty (5:0) or /dev/console (5:1); path
        the terminal the process had (e.g. "/dev/pts/3"). The first FDES of each terminal in a
        process is followed by its TTYS item. Pseudo-terminal masters (/dev/ptmx, 5:2) are never
        written.
  unix_socket_type:
    1:
      id: stream
      doc: SOCK_STREAM, a byte stream.
    2:
      id: datagram
      doc: SOCK_DGRAM, datagrams, each read whole.
    5:
      id: seqpacket
      doc: SOCK_SEQPACKET, messages, each read whole, on a connection.
  inet_family:
    2:
      id: inet
      doc: AF_INET, IPv4.
    10:
      id: inet6
      doc: AF_INET6, IPv6.
  pipe_kind:
    0:
      id: anonymous
      doc: Anonymous pipe (pipe(2)).
    1:
      id: named
      doc: Named FIFO (mkfifo(3)).
  signal_queue:
    0:
      id: thread
      doc: A thread's own queue.
    1:
      id: process
      doc: The process's shared queue.
  itimer_which:
    0:
      id: itimer_real
      doc: ITIMER_REAL, counts real (wall-clock) time; delivers SIGALRM.
    1:
      id: itimer_virtual
      doc: ITIMER_VIRTUAL, counts the process's user CPU time; delivers SIGVTALRM.
    2:
      id: itimer_prof
      doc: ITIMER_PROF, counts the process's user and system CPU time; delivers SIGPROF.
  posix_timer_clock:
    0:
      id: realtime
      doc: CLOCK_REALTIME, wall-clock time.
    1:
      id: monotonic
      doc: CLOCK_MONOTONIC, time since boot, not counting suspend.
    7:
      id: boottime
      doc: CLOCK_BOOTTIME, time since boot, counting suspend.
    8:
      id: realtime_alarm
      doc: CLOCK_REALTIME_ALARM, like CLOCK_REALTIME and wakes the system from suspend.
    9:
      id: boottime_alarm
      doc: CLOCK_BOOTTIME_ALARM, like CLOCK_BOOTTIME and wakes the system from suspend.
    11:
      id: tai
      doc: CLOCK_TAI, International Atomic Time.
    -8:
      id: process_cpu_profiling
      doc: The process's own profiling CPU-time clock (user and system time).
    -7:
      id: process_cpu_virtual
      doc: The process's own virtual CPU-time clock (user time).
    -6:
      id: process_cpu_scheduler
      doc: The process's own scheduler CPU-time clock; what CLOCK_PROCESS_CPUTIME_ID becomes.
  posix_timer_notify:
    0:
      id: process
      doc: SIGEV_SIGNAL, a signal to the process.
    1:
      id: none
      doc: SIGEV_NONE, no notification; the program asks with timer_gettime.
    2:
      id: thread
      doc: SIGEV_THREAD_ID, a signal to the thread `thread_id` (glibc's SIGEV_THREAD is this, to its helper thread).
  io_priority_class:
    0:
      id: none
      doc: IOPRIO_CLASS_NONE, the default; the I/O priority follows the nice value.
    1:
      id: realtime
      doc: IOPRIO_CLASS_RT.
    2:
      id: best_effort
      doc: IOPRIO_CLASS_BE.
    3:
      id: idle
      doc: IOPRIO_CLASS_IDLE, I/O only when nobody else needs the disk.
  sched_policy:
    0:
      id: sched_other
      doc: SCHED_OTHER, the default time-sharing policy (nice applies).
    1:
      id: sched_fifo
      doc: SCHED_FIFO, real-time first in, first out.
    2:
      id: sched_rr
      doc: SCHED_RR, real-time round robin.
    3:
      id: sched_batch
      doc: SCHED_BATCH, time-sharing for CPU-bound batch work.
    5:
      id: sched_idle
      doc: SCHED_IDLE, runs only when nothing else wants the CPU.
  seccomp_mode:
    1:
      id: strict
      doc: SECCOMP_MODE_STRICT, only read, write, _exit and rt_sigreturn; any other call kills the thread.
    2:
      id: filter
      doc: SECCOMP_MODE_FILTER, the thread's chain of BPF filters decides.
  syscall_restart:
    0:
      id: none
      doc: Not inside a restartable system call.
    1:
      id: reexecute
      doc: The call is re-executed (ERESTARTSYS, ERESTARTNOINTR, ERESTARTNOHAND).
    2:
      id: restart_block
      doc: The call continues through restart_syscall (ERESTART_RESTARTBLOCK).
  rlimit_resource:
    0: cpu
    1: fsize
    2: data
    3: stack
    4: core
    5: rss
    6: nproc
    7: nofile
    8: memlock
    9: as
    10: locks
    11: sigpending
    12: msgqueue
    13: nice
    14: rtprio
    15: rttime
