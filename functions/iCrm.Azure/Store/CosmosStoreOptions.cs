namespace iCrm.Azure.Store;

public sealed class CosmosStoreOptions
{
    /// <summary>Create database <c>icrm</c> and its containers when missing. Local server only: in Azure, Bicep creates them
    /// and data-plane RBAC cannot (setting <c>ICRM_CREATE_STORE</c>).</summary>
    public bool CreateIfMissing { get; set; }

    /// <summary>Cosmos bulk execution (on in Azure; the local server cannot parse bulk requests). Setting <c>ICRM_COSMOS_BULK</c>.</summary>
    public bool AllowBulk { get; set; }
}
