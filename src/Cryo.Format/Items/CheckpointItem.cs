namespace Cryo.Format;

/// <summary>
/// One item of a checkpoint file. Each kind is a record in its own file that holds its tag, its
/// payload layout (Encode and Decode, field by field) and its description for tools.
/// </summary>
public abstract record CheckpointItem
{
    public abstract ItemTag Tag { get; }

    /// <summary>Critical items must be understood by a reader; optional ones may be skipped.</summary>
    public virtual bool IsCritical => true;

    public abstract void Encode(PayloadWriter w);

    /// <summary>The decoded fields in payload order, named as in docs/format.md and formats/cryo.ksy.</summary>
    public abstract IReadOnlyList<ItemField> Describe();
}

/// <summary>The opening frame of a section <c>X</c>.</summary>
public sealed record SectionBegin(ItemTag Section) : CheckpointItem
{
    public override ItemTag Tag => Section;
    public override void Encode(PayloadWriter w) { }
    public override IReadOnlyList<ItemField> Describe() => [];
}

/// <summary>The closing frame <c>END X</c> of a section.</summary>
public sealed record SectionEnd(ItemTag Section) : CheckpointItem
{
    public override ItemTag Tag => Section;
    public override void Encode(PayloadWriter w) { }
    public override IReadOnlyList<ItemField> Describe() => [];
}

/// <summary>An optional item whose tag this reader does not know; returned only when asked for. The payload is valid until the next GetNextItem call.</summary>
public sealed record UnknownItem(ItemTag UnknownTag, ReadOnlyMemory<byte> Payload) : CheckpointItem
{
    public override ItemTag Tag => UnknownTag;
    public override bool IsCritical => false;
    public override void Encode(PayloadWriter w) => w.Raw(Payload.Span);
    public override IReadOnlyList<ItemField> Describe() => [ItemField.Blob("payload", Payload)];
}
