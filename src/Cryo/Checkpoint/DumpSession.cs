using Cryo.Format;

namespace Cryo.Checkpoint;

public enum PipeDumpStrategy
{
    /// <summary>tee() the pipe's contents into a private pipe: the original is never touched.</summary>
    Tee,
    /// <summary>The seed's way done right: read everything (FIONREAD count), then write it back and verify.</summary>
    Drain,
}

/// <summary>
/// Options of one checkpoint. <paramref name="Snapshot"/>: with <paramref name="LeaveRunning"/>,
/// let the tree run on once a copy-on-write fork of each process exists (<see cref="ForkSnapshot"/>)
/// rather than keep it frozen until every page is written.
/// </summary>
/// <param name="DeletedFileLimit">The most data saved of one deleted file, in bytes (--deleted-file-limit).</param>
internal sealed record CheckpointOptions(bool LeaveRunning, PipeDumpStrategy PipeStrategy, bool Snapshot = true, long DeletedFileLimit = 64L << 20);

/// <summary>
/// What spans the processes of one checkpoint: the pipes seen so far (one FIFO entry per pipe,
/// however many processes hold its ends) and the options.
/// </summary>
internal sealed class DumpSession(CheckpointOptions options)
{
    public CheckpointOptions Options { get; } = options;

    /// <summary>The live processes of the tree (a socket's peer must be held by one of them).</summary>
    public IReadOnlyCollection<int> TreePids { get; init; } = [];

    /// <summary>The zombies of the tree (a pidfd may refer to one: the restore makes it again).</summary>
    public IReadOnlyCollection<int> ZombiePids { get; init; } = [];

    /// <summary>Pipes by pipe id (the pipe inode), with their contents, in the order first seen.</summary>
    public Dictionary<ulong, PipeSnapshot> Pipes { get; } = [];
    public List<ulong> PipeOrder { get; } = [];

    /// <summary>The anonymous pipes of the tree by their /proc link ("pipe:[N]"), for the check for holders outside it.</summary>
    public HashSet<string> AnonymousPipes { get; } = [];
}

/// <summary>A pipe's state as read at the freeze: written into the FIFO section.</summary>
internal sealed record PipeSnapshot(PipeInfo Info, IReadOnlyList<byte[]> Chunks);
