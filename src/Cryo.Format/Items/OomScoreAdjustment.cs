namespace Cryo.Format;

/// <summary>
/// <c>OOMS</c>: the process's <c>oom_score_adj</c> (/proc/PID/oom_score_adj), how much more or less
/// the OOM killer should prefer it: -1000 (never) … 1000 (first). It belongs to the process (all
/// its threads), not to a thread, and to the OOM killer rather than the scheduler, so it is an
/// item of its own in <c>PROC</c>.
/// </summary>
public sealed record OomScoreAdjustment(int Value) : CheckpointItem
{
    public const int Min = -1000, Max = 1000;
    public static readonly ItemTag TagValue = ItemTag.Parse("OOMS");
    public override ItemTag Tag => TagValue;

    public override void Encode(PayloadWriter w) => w.I32(Value);

    public static OomScoreAdjustment Decode(ref PayloadReader r)
    {
        int value = r.I32("oom_score_adj");
        if (value is < Min or > Max) throw r.Invalid("oom_score_adj", value, "oom_score_adj is -1000 … 1000");
        return new OomScoreAdjustment(value);
    }

    public override IReadOnlyList<ItemField> Describe() => [ItemField.Num("oom_score_adj", (long)Value)];
}
