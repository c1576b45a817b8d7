using Cryo.Format;

namespace Cryo.Tests.Property.Support;

/// <summary>The descriptors and the FIFO section of a checkpoint file, read with Cryo.Format's reader.</summary>
public sealed class ImagePipes
{
    public List<FileDescriptor> Descriptors { get; } = [];

    /// <summary>FINF and FBUF items in file order.</summary>
    public List<CheckpointItem> FifoItems { get; } = [];

    public bool HasFifoSection { get; private set; }

    public Dictionary<ulong, (PipeInfo Info, List<byte[]> Data)> Pipes { get; } = [];

    public static ImagePipes Read(string path)
    {
        var image = new ImagePipes();
        using var reader = CheckpointReader.OpenFile(path);
        (PipeInfo Info, List<byte[]> Data)? current = null;
        while (reader.GetNextItem() is { } item)
        {
            switch (item)
            {
                case SectionBegin b when b.Section == ItemKinds.Fifo:
                    image.HasFifoSection = true;
                    break;
                case FileDescriptor fd:
                    image.Descriptors.Add(fd);
                    break;
                case PipeInfo info:
                    image.FifoItems.Add(info);
                    current = (info, []);
                    if (!image.Pipes.TryAdd(info.PipeId, current.Value))
                        throw new InvalidDataException($"{path}: pipe id {info.PipeId} has two FINF items");
                    break;
                case PipeData data:
                    image.FifoItems.Add(new PipeData(data.PipeId, data.Data.ToArray()));
                    if (current is null || current.Value.Info.PipeId != data.PipeId)
                        throw new InvalidDataException($"{path}: FBUF of pipe id {data.PipeId} does not follow its FINF");
                    current.Value.Data.Add(data.Data.ToArray());
                    break;
            }
        }
        if (reader.Trailer is null) throw new InvalidDataException($"{path}: no trailer");
        return image;
    }

    public FileDescriptor Fd(int fd) => Descriptors.SingleOrDefault(d => d.Fd == fd)
        ?? throw new InvalidDataException($"the image has no FDES for fd {fd} (it has {string.Join(' ', Descriptors.Select(d => d.Fd))})");

    /// <summary>One line per FIFO item, for failure messages (data as length and CRC-32C).</summary>
    public string DescribeFifo() => string.Join('\n', FifoItems.Select(i => i switch
    {
        PipeInfo p => $"FINF id={p.PipeId} kind={p.Kind} packetized={p.Packetized} capacity={p.Capacity} byte_count={p.ByteCount}",
        PipeData d => $"  FBUF id={d.PipeId} {d.Data.Length} bytes crc32c:{Crc32C.Compute(d.Data.Span):x8}",
        _ => i.ToString(),
    }));
}
