using Cryo.Format;

namespace Cryo.Tests.Golden.Support;

/// <summary>Reading a checkpoint file's items in tests.</summary>
public static class ImageItems
{
    /// <summary>Every item of type <typeparamref name="T"/> in <paramref name="image"/>, in file order.</summary>
    public static List<T> Of<T>(string image) where T : CheckpointItem
    {
        var found = new List<T>();
        using var reader = CheckpointReader.OpenFile(image);
        while (reader.GetNextItem() is { } item)
            if (item is T wanted) found.Add(wanted);
        return found;
    }
}
