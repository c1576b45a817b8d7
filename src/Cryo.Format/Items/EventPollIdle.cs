namespace Cryo.Format;

/// <summary>
/// <c>EPQT</c>: the epoll instance behind a descriptor had no event waiting to be reported when
/// the checkpoint froze it (poll on it found it not readable), and these of its edge-triggered
/// watches (by the descriptor they watch) had a file that was ready: their edge had been
/// reported to the program. A restore, which adds the watches again (an EPOLL_CTL_ADD of a ready
/// file queues an event), takes exactly those events off the ready list again before the program
/// runs; a watch whose file became ready only after the checkpoint keeps its event. Written right
/// after the <c>EPOL</c> it speaks of, when the list is not empty. Optional: a reader that skips
/// it restores those watches with one more edge reported, which is what every image said before
/// this item existed.
/// </summary>
public sealed record EventPollIdle(int Fd, int[] ReportedEdges) : CheckpointItem
{
    public static readonly ItemTag TagValue = ItemTag.Parse("EPQT");
    public override ItemTag Tag => TagValue;
    public override bool IsCritical => false;

    public override void Encode(PayloadWriter w)
    {
        w.I32(Fd);
        w.Count(ReportedEdges.Length);
        foreach (int target in ReportedEdges) w.I32(target);
    }

    public static EventPollIdle Decode(ref PayloadReader r)
    {
        int fd = r.I32("fd");
        if (fd < 0) throw r.Invalid("fd", fd, "descriptor numbers are not negative");
        var edges = new int[r.Count("reported_edges", 4)];
        int previous = -1;
        for (int i = 0; i < edges.Length; i++) edges[i] = previous = EventPollFile.ReadTarget(ref r, previous, fd);
        return new EventPollIdle(fd, edges);
    }

    public override IReadOnlyList<ItemField> Describe() =>
    [
        ItemField.Num("fd", (long)Fd),
        ItemField.List("reported_edges", ReportedEdges.Select(t => (IReadOnlyList<ItemField>)[ItemField.Num("target_fd", (long)t)]).ToArray()),
    ];
}
