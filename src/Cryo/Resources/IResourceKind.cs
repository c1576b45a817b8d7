using Cryo.Checkpoint;
using Cryo.Format;
using Cryo.Restore;

namespace Cryo.Resources;

/// <summary>
/// What a resource kind read from a frozen process. Reading (and refusing) happens first for
/// every kind of every process; writing comes after, so a refusal never leaves a partial image.
/// </summary>
internal interface IDumpedResource
{
    void WriteTo(CheckpointWriter writer);
}

/// <summary>Items that are simply written as they are.</summary>
internal sealed record DumpedItems(IReadOnlyList<CheckpointItem> Items) : IDumpedResource
{
    public void WriteTo(CheckpointWriter writer)
    {
        foreach (var item in Items) writer.Write(item);
    }
}

/// <summary>
/// One kind of process state, its checkpoint and its restore side by side. The kinds are listed
/// in <see cref="ResourceKinds"/>: adding a kind is one new file and one line there.
/// </summary>
internal interface IResourceKind
{
    string Name { get; }

    /// <summary>
    /// Reads this kind's state from a frozen process. Throws <see cref="UnsupportedResourceException"/>
    /// (naming pid, fd and kind) for anything it cannot checkpoint.
    /// </summary>
    IDumpedResource Dump(FrozenProcess process, DumpSession session);

    /// <summary>Whether <paramref name="item"/> is one of this kind's items.</summary>
    bool Handles(CheckpointItem item);

    /// <summary>
    /// Applies one item as it is read. <paramref name="process"/> is null for items outside a
    /// PROC section (the FIFO section). Page and pipe data are only valid during this call.
    /// </summary>
    void Restore(RestoringProcess? process, CheckpointItem item, RestoreSession session);

    /// <summary>
    /// Completes the process once all of its items (and the FIFO section) have been read; called
    /// for every kind in <see cref="ResourceKinds.FinishOrder"/>.
    /// </summary>
    void Finish(RestoringProcess process, RestoreSession session);
}
