using iCrm.Azure.Store;
using System.Diagnostics;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using iCrm.Azure;

namespace iCrm.Functions.Tests;

/// <summary>
/// The Bicep templates and the app must agree on every name: a container, queue or setting spelled differently
/// deploys cleanly and then fails at run time. These tests read the compiled template (infra/lint.sh writes
/// .artifacts/bicep/main.json) and compare it with the app's constants in <see cref="ResourceNames"/> and
/// <see cref="SettingNames"/>.
/// </summary>
public sealed class InfrastructureTemplateTests(CompiledTemplate template) : IClassFixture<CompiledTemplate>
{
    [Fact]
    public void Every_setting_the_app_reads_in_Azure_is_set_on_the_function_app()
    {
        var settings = template.FunctionAppSettings();

        var missing = SettingNames.RequiredInAzure.Where(name => !settings.ContainsKey(name)).ToList();

        Assert.True(missing.Count == 0, $"app settings missing from the template: {string.Join(", ", missing)}");
    }

    [Fact]
    public void The_Functions_host_storage_and_telemetry_use_the_managed_identity()
    {
        var settings = template.FunctionAppSettings();

        Assert.Equal("managedidentity", settings["AzureWebJobsStorage__credential"]);
        Assert.Equal("managedidentity", settings["IcrmStorage__credential"]);
        Assert.Equal("managedidentity", settings["IcrmCosmos__credential"]);
        Assert.Contains("AzureWebJobsStorage__blobServiceUri", settings.Keys);
        Assert.Contains("AzureWebJobsStorage__queueServiceUri", settings.Keys);
        Assert.Contains("AzureWebJobsStorage__tableServiceUri", settings.Keys);
        Assert.Contains("Authorization=AAD", settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"]);
        Assert.Equal("false", settings[SettingNames.LocalTriggers]);
    }

    [Fact]
    public void No_app_setting_carries_a_key_or_a_connection_string_with_a_secret()
    {
        var settings = template.FunctionAppSettings();
        string[] secretMarkers = ["accountkey=", "sharedaccesskey=", "sharedaccesssignature=", "listkeys(", "listconnectionstrings(", "instrumentationkey="];

        var leaking = settings
            .Where(s => s.Key != "APPLICATIONINSIGHTS_CONNECTION_STRING")
            .Where(s => secretMarkers.Any(m => s.Value.Contains(m, StringComparison.OrdinalIgnoreCase)))
            .Select(s => s.Key)
            .ToList();

        Assert.True(leaking.Count == 0, $"settings with secrets: {string.Join(", ", leaking)}");
        // The App Insights connection string names the resource only; it must not be built from listKeys.
        Assert.DoesNotContain("listKeys(", settings["APPLICATIONINSIGHTS_CONNECTION_STRING"], StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void The_PII_key_comes_from_a_Key_Vault_reference_resolved_with_the_user_assigned_identity()
    {
        var settings = template.FunctionAppSettings();
        var site = template.Single("Microsoft.Web/sites").Resource;

        Assert.Contains("@Microsoft.KeyVault(SecretUri=", settings[SettingNames.PiiKey]);
        Assert.False(string.IsNullOrEmpty(site["properties"]?["keyVaultReferenceIdentity"]?.GetValue<string>()));
        Assert.DoesNotContain("newGuid(", template.Json.ToJsonString());
    }

    [Fact]
    public void The_function_app_runs_the_dotnet_10_isolated_worker_on_Flex_Consumption()
    {
        var plan = template.Single("Microsoft.Web/serverfarms").Resource;
        var site = template.Single("Microsoft.Web/sites").Resource;
        var config = site["properties"]!["functionAppConfig"]!;
        var settings = template.FunctionAppSettings();

        Assert.Equal("FC1", plan["sku"]!["name"]!.GetValue<string>());
        Assert.Equal("dotnet-isolated", config["runtime"]!["name"]!.GetValue<string>());
        Assert.Equal("10.0", config["runtime"]!["version"]!.GetValue<string>());
        // Flex Consumption takes the language from functionAppConfig and rejects these settings.
        Assert.DoesNotContain("FUNCTIONS_WORKER_RUNTIME", settings.Keys);
        Assert.DoesNotContain("FUNCTIONS_EXTENSION_VERSION", settings.Keys);
        Assert.Equal("UserAssignedIdentity", config["deployment"]!["storage"]!["authentication"]!["type"]!.GetValue<string>());
        Assert.True(site["properties"]!["httpsOnly"]!.GetValue<bool>());
        Assert.Equal("1.2", site["properties"]!["siteConfig"]!["minTlsVersion"]!.GetValue<string>());
        Assert.Equal("Disabled", site["properties"]!["siteConfig"]!["ftpsState"]!.GetValue<string>());
    }

    [Fact]
    public void Every_blob_container_the_app_uses_is_declared()
    {
        var declared = template.LoopedNames("Microsoft.Storage/storageAccounts/blobServices/containers");

        Assert.Empty(ResourceNames.BlobContainers.Except(declared));
    }

    [Fact]
    public void The_blob_extension_poison_queue_is_declared_and_no_Event_Grid_delivery_queue_remains()
    {
        var declared = template.LoopedNames("Microsoft.Storage/storageAccounts/queueServices/queues");

        // A drop that failed every attempt of the blob trigger ends here (the extension's fixed name); the write-back's
        // slices go through score-slices and, after every attempt failed, score-slices-poison.
        Assert.Equal(new[] { ResourceNames.ScoreSlicesQueue, ResourceNames.ScoreSlicesPoisonQueue, "webjobs-blobtrigger-poison" }, declared.Order());
    }

    [Fact]
    public void The_Cosmos_database_is_icrm()
    {
        var (database, scope) = template.Single("Microsoft.DocumentDB/databaseAccounts/sqlDatabases");

        Assert.Equal(ResourceNames.CosmosDatabase, scope.ResolveLastNameSegment(database));
    }

    [Fact]
    public void Every_Cosmos_container_is_declared_with_the_partition_key_the_app_uses()
    {
        var (container, scope) = template.Single("Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers");
        var loopParameter = scope.LoopParameter(container);
        var paths = container["properties"]!["resource"]!["partitionKey"]!["paths"]!.AsArray();

        // The resource takes each container's partition key from the same list it takes the names from.
        Assert.Equal($"[parameters('{loopParameter}')[copyIndex()].partitionKey]", Assert.Single(paths)!.GetValue<string>());
        var declared = scope.ResolveParameter(loopParameter)!.AsArray()
            .ToDictionary(c => c!["name"]!.GetValue<string>(), c => c!["partitionKey"]!.GetValue<string>());
        var wrong = ResourceNames.CosmosContainers
            .Where(c => !declared.TryGetValue(c.Key, out var key) || key != c.Value)
            .Select(c => $"{c.Key} ({c.Value})")
            .ToList();
        Assert.True(wrong.Count == 0, $"containers missing or with another partition key: {string.Join(", ", wrong)}");
        // The merge review store (GET /api/merges) keeps one document per review.
        Assert.Equal("/id", declared["reviews"]);
    }

    [Fact]
    public void The_customers_container_declares_the_indexing_policy_the_app_creates_locally()
    {
        var (container, scope) = template.Single("Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers");
        var customers = scope.ResolveParameter(scope.LoopParameter(container))!.AsArray()
            .Single(c => c!["name"]!.GetValue<string>() == ResourceNames.CustomersContainer)!;
        var policy = customers["indexingPolicy"] is JsonValue reference
            ? template.Json["variables"]![System.Text.RegularExpressions.Regex.Match(reference.GetValue<string>(), @"variables\('([^']+)'\)").Groups[1].Value]!
            : customers["indexingPolicy"]!;

        var declaredComposites = policy["compositeIndexes"]!.AsArray()
            .Select(index => string.Join(" + ", index!.AsArray().Select(p => $"{p!["path"]} {p["order"]}")))
            .ToList();
        var appComposites = iCrm.Azure.Store.CustomerIndexing.CompositeIndexes
            .Select(index => string.Join(" + ", index.Select(p => $"{p.Path} {(p.Descending ? "descending" : "ascending")}")))
            .ToList();
        Assert.Equal(appComposites.Order(), declaredComposites.Order());
        Assert.Equal(iCrm.Azure.Store.CustomerIndexing.ExcludedPaths.Order(),
            policy["excludedPaths"]!.AsArray().Select(p => p!["path"]!.GetValue<string>()).Order());
        Assert.Equal("/*", Assert.Single(policy["includedPaths"]!.AsArray())!["path"]!.GetValue<string>());
        // The module passes the policy through to the container resource.
        Assert.Contains("indexingPolicy", container["properties"]!["resource"]!["indexingPolicy"]!.ToJsonString());
    }

    [Fact]
    public void People_sign_in_with_Entra_ID_while_function_key_callers_are_let_through()
    {
        var (auth, scope) = template.Single("Microsoft.Web/sites/config");
        var properties = auth["properties"]!;
        var entra = properties["identityProviders"]!["azureActiveDirectory"]!;

        Assert.EndsWith("authsettingsV2')]", auth["name"]!.GetValue<string>());
        Assert.True(properties["platform"]!["enabled"]!.GetValue<bool>());
        // Requests without a token reach the app (services with role keys, health, the documentation), which answers 401/403 itself.
        Assert.False(properties["globalValidation"]!["requireAuthentication"]!.GetValue<bool>());
        Assert.Equal("AllowAnonymous", properties["globalValidation"]!["unauthenticatedClientAction"]!.GetValue<string>());
        Assert.Contains("parameters('authClientId')", entra["registration"]!["clientId"]!.GetValue<string>());
        Assert.Contains("parameters('authTenantId')", entra["registration"]!["openIdIssuer"]!.GetValue<string>());
        // Only deployed when an app registration is given.
        Assert.Contains("authClientId", auth["condition"]!.GetValue<string>());
        Assert.Equal("", template.Json["parameters"]!["authClientId"]!["defaultValue"]!.GetValue<string>());
    }

    [Fact]
    public void The_app_trusts_the_signed_in_principal_exactly_when_App_Service_authentication_is_declared()
    {
        var condition = template.Single("Microsoft.Web/sites/config").Resource["condition"]!.GetValue<string>();

        Assert.Equal("[not(empty(parameters('authClientId')))]", condition);
        Assert.Equal($"[string({condition[1..^1]})]", template.FunctionAppSettings()["Security__TrustAppServiceAuthentication"]);
        Assert.Null(template.Json["parameters"]!["trustAppServiceAuthentication"]);
    }

    [Fact]
    public void Service_role_keys_are_declared_as_app_settings_that_reference_Key_Vault_secrets_the_template_never_writes()
    {
        var loops = template.FunctionAppSettingLoops().Values.ToList();
        var secret = Assert.Single(loops, l => l.Input["name"]!.GetValue<string>().Contains("__Secret", StringComparison.Ordinal)).Input;
        var roles = Assert.Single(loops, l => l.Input["name"]!.GetValue<string>().Contains("__Roles", StringComparison.Ordinal)).Input;

        Assert.All(loops, l => Assert.Equal("[length(parameters('serviceKeys'))]", l.Count));
        Assert.StartsWith("[format('Security__Keys__{0}__Secret', parameters('serviceKeys')[", secret["name"]!.GetValue<string>());
        Assert.StartsWith("[format('@Microsoft.KeyVault(SecretUri={0}secrets/icrm-key-{1})', parameters('keyVaultUri'), replace(parameters('serviceKeys')[",
            secret["value"]!.GetValue<string>());
        Assert.StartsWith("[format('Security__Keys__{0}__Roles', parameters('serviceKeys')[", roles["name"]!.GetValue<string>());
        Assert.StartsWith("[join(parameters('serviceKeys')[", roles["value"]!.GetValue<string>());
        // The module gets the vault that also holds the PII key (whose secrets its identity may read), and no keys by default.
        var module = template.Resources.Single(r => r.Resource["name"]?.GetValue<string>() == "function-app").Resource;
        Assert.Contains("keyvault", module["properties"]!["parameters"]!["keyVaultUri"]!["value"]!.GetValue<string>(), StringComparison.OrdinalIgnoreCase);
        Assert.Empty(template.Json["parameters"]!["serviceKeys"]!["defaultValue"]!.AsArray());
        // A key's roles are exactly the app's roles, and the only secret the template writes is the PII key.
        var allowedRoles = template.Json["definitions"]!["serviceKey"]!["properties"]!["roles"]!["allowedValues"]!.AsArray();
        Assert.Equal(Enum.GetNames<iCrm.Functions.Api.ApiRole>().Select(r => r.ToLowerInvariant()).Order(), allowedRoles.Select(r => r!.GetValue<string>()).Order());
        var secrets = template.Resources.Where(r => r.Resource["type"]?.GetValue<string>() == "Microsoft.KeyVault/vaults/secrets").ToList();
        Assert.Contains("piiKeySecretName", Assert.Single(secrets).Resource["name"]!.GetValue<string>());
    }

    [Fact]
    public void Cosmos_DB_and_storage_accept_Entra_ID_only()
    {
        var cosmos = template.Single("Microsoft.DocumentDB/databaseAccounts").Resource;
        var storage = template.Single("Microsoft.Storage/storageAccounts").Resource;

        Assert.True(cosmos["properties"]!["disableLocalAuth"]!.GetValue<bool>());
        Assert.False(storage["properties"]!["allowSharedKeyAccess"]!.GetValue<bool>());
        Assert.False(storage["properties"]!["allowBlobPublicAccess"]!.GetValue<bool>());
    }

    [Fact]
    public void The_storage_account_raises_blob_events_through_a_system_topic_whose_identity_may_write_dead_letters()
    {
        var (topic, scope) = template.Single("Microsoft.EventGrid/systemTopics");

        Assert.Equal("Microsoft.Storage.StorageAccounts", topic["properties"]!["topicType"]!.GetValue<string>());
        Assert.Equal("SystemAssigned", topic["identity"]!["type"]!.GetValue<string>());
        // Storage Blob Data Contributor for the topic's identity, scoped to the dead-letter container only.
        var deadLetterRole = Assert.Single(
            template.Resources,
            r => r.Scope == scope
                && r.Resource["type"]?.GetValue<string>() == "Microsoft.Authorization/roleAssignments"
                && (r.Resource.ToJsonString() + r.Scope.VariablesJson()).Contains("ba92f5b4-2d11-453d-a403-e96b0029c9fe", StringComparison.OrdinalIgnoreCase));
        Assert.Contains("parameters('deadLetterContainerName')", deadLetterRole.Resource["scope"]!.GetValue<string>());
        Assert.Contains("systemTopics", deadLetterRole.Resource["properties"]!["principalId"]!.GetValue<string>());
        Assert.Equal(ResourceNames.EventGridDeadLetterContainer, scope.ResolveParameter("deadLetterContainerName")!.GetValue<string>());
        // The subscription needs the blob extension's key, which exists only after the code is deployed: it lives
        // in infra/drop-subscription.bicep, not here.
        Assert.DoesNotContain(template.Resources, r => r.Resource["type"]?.GetValue<string>() == "Microsoft.EventGrid/systemTopics/eventSubscriptions");
    }

    [Fact]
    public void Blobs_created_under_drops_are_delivered_to_the_blob_extension_webhook_of_Ingest()
    {
        var subscriptionTemplate = template.DropSubscription;
        var (subscription, scope) = subscriptionTemplate.Single("Microsoft.EventGrid/systemTopics/eventSubscriptions");
        var properties = subscription["properties"]!;
        var destination = properties["destination"]!;
        var endpointUrl = destination["properties"]!["endpointUrl"]!.GetValue<string>();

        Assert.Equal(
            $"/blobServices/default/containers/{ResourceNames.DropsContainer}/",
            scope.Resolve(properties["filter"]!["subjectBeginsWith"]!)!.GetValue<string>());
        Assert.Equal("Microsoft.Storage.BlobCreated", Assert.Single(properties["filter"]!["includedEventTypes"]!.AsArray())!.GetValue<string>());
        Assert.Equal("WebHook", destination["endpointType"]!.GetValue<string>());
        Assert.Contains("/runtime/webhooks/blobs?functionName=Host.Functions.{1}&code={2}", endpointUrl);
        // The key is read from the app's host inside the deployment, never passed in as a parameter.
        Assert.Contains("/host/default', ", endpointUrl);
        Assert.Contains(".systemKeys.blobs_extension", endpointUrl);
        Assert.Contains("variables('ingestFunctionName')", endpointUrl);
        Assert.Equal(
            ResourceNames.EventGridDeadLetterContainer,
            scope.Resolve(properties["deadLetterWithResourceIdentity"]!["deadLetterDestination"]!["properties"]!["blobContainerName"]!)!.GetValue<string>());
        Assert.Equal("SystemAssigned", properties["deadLetterWithResourceIdentity"]!["identity"]!["type"]!.GetValue<string>());
        Assert.DoesNotContain(subscriptionTemplate.Json["outputs"]?.ToJsonString() ?? "", "listKeys", StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void The_webhook_names_a_function_the_app_declares()
    {
        var name = template.DropSubscription.Json["variables"]!["ingestFunctionName"]!.GetValue<string>();
        var functions = AppFunctions.Load(template.RepoRoot);

        Assert.True(functions.Bindings.ContainsKey(name), $"the app ({functions.Source}) declares no function '{name}'");
        if (functions.FromSdkMetadata)
        {
            // The isolated worker: Ingest must be the Event Grid-sourced blob trigger on drops/ that Flex requires.
            var trigger = Assert.Single(functions.Bindings[name], b => b["type"]?.GetValue<string>() == "blobTrigger");
            Assert.Equal("EventGrid", trigger["source"]?.GetValue<string>());
            Assert.StartsWith($"{ResourceNames.DropsContainer}/", trigger["path"]?.GetValue<string>() ?? "");
        }
    }
    [Fact]
    public void Drops_and_quarantined_files_expire_after_their_own_retention_periods()
    {
        var (policy, scope) = template.Single("Microsoft.Storage/storageAccounts/managementPolicies");
        var rules = policy["properties"]!["policy"]!["rules"]!.AsArray().Select(r => r!).ToList();
        var byPrefix = rules.ToDictionary(
            r => Assert.Single(r["definition"]!["filters"]!["prefixMatch"]!.AsArray())!.GetValue<string>(),
            r => r["definition"]!["actions"]!["baseBlob"]!["delete"]!["daysAfterModificationGreaterThan"]!.GetValue<string>());

        Assert.Equal(new[] { $"{ResourceNames.DropsContainer}/", $"{ResourceNames.QuarantineContainer}/" }, byPrefix.Keys.Order());
        Assert.Equal("[parameters('dropsRetentionDays')]", byPrefix[$"{ResourceNames.DropsContainer}/"]);
        Assert.Equal("[parameters('quarantineRetentionDays')]", byPrefix[$"{ResourceNames.QuarantineContainer}/"]);
        Assert.All(rules, r => Assert.True(r["enabled"]!.GetValue<bool>()));
        // Each period is a parameter of main.bicep with a default (documented in docs/data-retention.md).
        foreach (var parameter in new[] { "dropsRetentionDays", "quarantineRetentionDays", "auditRetentionDays" })
        {
            Assert.True(template.Json["parameters"]![parameter]!["defaultValue"]!.GetValue<int>() > 0, parameter);
        }
        Assert.NotNull(scope.ResolveParameter("dropsRetentionDays"));
    }

    [Fact]
    public void Audit_entries_expire_by_their_own_ttl_from_the_app_setting()
    {
        var (container, scope) = template.Single("Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers");
        var declared = scope.ResolveParameter(scope.LoopParameter(container))!.AsArray()
            .ToDictionary(c => c!["name"]!.GetValue<string>(), c => c!["defaultTtl"]);

        // Time to live on with no default (-1) on audit only: entries carry their ttl; other documents never expire.
        Assert.Equal(-1, declared[ResourceNames.AuditContainer]!.GetValue<int>());
        Assert.All(declared.Where(d => d.Key != ResourceNames.AuditContainer), d => Assert.Null(d.Value));
        Assert.Contains("defaultTtl", container["properties"]!["resource"]!["defaultTtl"]!.GetValue<string>());
        Assert.Contains("auditRetentionDays", template.FunctionAppSettings()["Audit__RetentionDays"]);
        Assert.Equal(new AuditOptions().RetentionDays, template.Json["parameters"]!["auditRetentionDays"]!["defaultValue"]!.GetValue<int>());
    }

    [Theory]
    [InlineData("b7e6dc6d-f1e8-4753-8033-0f276bb0955b", "Storage Blob Data Owner (app; the host's storage, the blob trigger)")]
    [InlineData("974c5e8b-45b9-4653-ba55-5f855dd0fb88", "Storage Queue Data Contributor (app; the blob trigger's queue and poison queue)")]
    [InlineData("0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3", "Storage Table Data Contributor (host)")]
    [InlineData("ba92f5b4-2d11-453d-a403-e96b0029c9fe", "Storage Blob Data Contributor (Event Grid dead letters)")]
    [InlineData("3913510d-42f4-4e42-8a64-420c390055eb", "Monitoring Metrics Publisher (app telemetry)")]
    [InlineData("4633458b-17de-408a-b874-0445c86b69e6", "Key Vault Secrets User (PII key reference)")]
    [InlineData("a97b65f3-24c7-4388-baec-2e87135dc908", "Cognitive Services User (Azure AI Language)")]
    [InlineData("00000000-0000-0000-0000-000000000002", "Cosmos DB Built-in Data Contributor (data plane)")]
    public void Every_role_the_app_and_the_topic_need_is_assigned_by_its_built_in_id(string roleId, string role)
    {
        var assigned = template.Resources
            .Where(r => r.Resource["type"]?.GetValue<string>() is "Microsoft.Authorization/roleAssignments" or "Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments")
            .Select(r => r.Resource.ToJsonString() + r.Scope.VariablesJson())
            .ToList();

        Assert.True(assigned.Any(json => json.Contains(roleId, StringComparison.OrdinalIgnoreCase)), $"{role} ({roleId}) is not assigned");
    }

    [Fact]
    public void Function_bindings_use_only_connections_and_settings_the_template_provides()
    {
        var settings = template.FunctionAppSettings();
        var functions = AppFunctions.Load(template.RepoRoot);
        var problems = new List<string>();

        foreach (var (function, bindings) in functions.Bindings)
        {
            foreach (var binding in bindings)
            {
                foreach (Match reference in Regex.Matches(binding.ToJsonString(), "%([A-Za-z0-9_]+)%"))
                {
                    if (!settings.ContainsKey(reference.Groups[1].Value)) problems.Add($"{function}: setting %{reference.Groups[1].Value}% is not set");
                }

                if (binding["connection"]?.GetValue<string>() is { Length: > 0 } connection && !settings.Keys.Any(k => k.StartsWith(connection + "__", StringComparison.Ordinal)))
                    problems.Add($"{function}: connection '{connection}' has no {connection}__* settings");
                // An identity-based blob trigger needs the queue endpoint too, for its poison queue.
                if (binding["type"]?.GetValue<string>() == "blobTrigger" && binding["connection"]?.GetValue<string>() is { Length: > 0 } blobConnection
                    && !settings.ContainsKey($"{blobConnection}__queueServiceUri"))
                    problems.Add($"{function}: blob trigger connection '{blobConnection}' has no __queueServiceUri");
            }
        }

        Assert.NotEmpty(functions.Bindings);
        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
    }
}

/// <summary>
/// The functions the app declares with their bindings: the Worker SDK's generated <c>functions.metadata</c> when the app
/// has been built as an isolated worker, else the hand-written <c>FunctionDefinitions/*/function.json</c> files.
/// </summary>
public sealed record AppFunctions(string Source, bool FromSdkMetadata, IReadOnlyDictionary<string, IReadOnlyList<JsonObject>> Bindings)
{
    public static AppFunctions Load(string repoRoot)
    {
        var project = Path.Combine(repoRoot, "functions", "iCrm.Functions");
        var metadata = new[] { Path.Combine(AppContext.BaseDirectory, "functions.metadata") }
            .Concat(Directory.Exists(Path.Combine(project, "bin"))
                ? Directory.GetFiles(Path.Combine(project, "bin"), "functions.metadata", SearchOption.AllDirectories)
                : [])
            .Where(File.Exists)
            .OrderByDescending(File.GetLastWriteTimeUtc)
            .FirstOrDefault();
        if (metadata is not null)
        {
            var functions = JsonNode.Parse(File.ReadAllText(metadata))!.AsArray()
                .ToDictionary(f => f!["name"]!.GetValue<string>(), f => ReadBindings(f!["bindings"]));
            return new AppFunctions(metadata, true, functions);
        }

        var definitions = Path.Combine(project, "FunctionDefinitions");
        Assert.True(Directory.Exists(definitions), $"neither functions.metadata (build the app) nor {definitions} was found");
        var files = Directory.GetFiles(definitions, "function.json", SearchOption.AllDirectories);
        return new AppFunctions(definitions, false, files.ToDictionary(
            f => Path.GetFileName(Path.GetDirectoryName(f))!,
            f => ReadBindings(JsonNode.Parse(File.ReadAllText(f))?["bindings"])));
    }

    private static IReadOnlyList<JsonObject> ReadBindings(JsonNode? bindings) =>
        bindings?.AsArray().Select(b => b!.AsObject()).ToList() ?? [];
}

/// <summary>
/// The compiled ARM template of infra/main.bicep (and of infra/drop-subscription.bicep), with just enough evaluation to follow a module parameter back
/// to the variable that feeds it. Compiles the templates with infra/lint.sh when they are missing or stale.
/// </summary>
public sealed class CompiledTemplate
{
    public CompiledTemplate()
        : this(FindRepoRoot(), "main.json")
    {
    }

    private CompiledTemplate(string repoRoot, string file)
    {
        RepoRoot = repoRoot;
        var compiled = Path.Combine(RepoRoot, ".artifacts", "bicep", file);
        if (IsMissingOrStale(compiled)) Compile();
        Json = JsonNode.Parse(File.ReadAllText(compiled))!.AsObject();
        Resources = TemplateScope.Root(Json).EnumerateResources().ToList();
        dropSubscription = file == "main.json" ? new Lazy<CompiledTemplate>(() => new CompiledTemplate(repoRoot, "drop-subscription.json")) : null;
    }

    private readonly Lazy<CompiledTemplate>? dropSubscription;

    /// <summary>infra/drop-subscription.bicep: the Event Grid subscription deployed after the code.</summary>
    public CompiledTemplate DropSubscription => dropSubscription?.Value ?? throw new InvalidOperationException("only main.json has a drop subscription");

    public string RepoRoot { get; }

    public JsonObject Json { get; }

    public IReadOnlyList<(JsonObject Resource, TemplateScope Scope)> Resources { get; }

    public (JsonObject Resource, TemplateScope Scope) Single(string type) =>
        Assert.Single(Resources, r => string.Equals(r.Resource["type"]?.GetValue<string>(), type, StringComparison.OrdinalIgnoreCase));

    /// <summary>App settings of the function app (name → raw template value): its literal list, or the literal lists of
    /// the variables it concatenates (the settings every deployment has; per-key settings come from <see cref="FunctionAppSettingLoops"/>).</summary>
    public IReadOnlyDictionary<string, string> FunctionAppSettings()
    {
        var (site, scope) = Single("Microsoft.Web/sites");
        var settings = site["properties"]?["siteConfig"]?["appSettings"] switch
        {
            JsonArray literal => literal,
            JsonValue expression => new JsonArray([.. ConcatenatedVariables(expression.GetValue<string>())
                .Select(scope.Variable).OfType<JsonArray>().SelectMany(a => a.Select(s => s!.DeepClone()))]),
            _ => null,
        };
        Assert.NotNull(settings);
        return settings.ToDictionary(
            s => s!["name"]!.GetValue<string>(),
            s => s!["value"] is JsonValue v && v.TryGetValue<string>(out var text) ? text : s!["value"]?.ToJsonString() ?? "");
    }

    /// <summary>The copy loops among the variables the function app's settings concatenate: loop name → (count, input).</summary>
    public IReadOnlyDictionary<string, (string Count, JsonObject Input)> FunctionAppSettingLoops()
    {
        var (site, scope) = Single("Microsoft.Web/sites");
        var concatenated = site["properties"]?["siteConfig"]?["appSettings"] is JsonValue expression
            ? ConcatenatedVariables(expression.GetValue<string>()).ToHashSet()
            : [];
        return scope.VariableLoops().Where(l => concatenated.Contains(l["name"]!.GetValue<string>())).ToDictionary(
            l => l["name"]!.GetValue<string>(),
            l => (l["count"]!.GetValue<string>(), l["input"]!.AsObject()));
    }

    private static IEnumerable<string> ConcatenatedVariables(string expression) =>
        Regex.Matches(expression, @"variables\('([^']+)'\)").Select(m => m.Groups[1].Value);

    /// <summary>Names of resources of this type declared in copy loops over arrays that resolve to literals.</summary>
    public HashSet<string> LoopedNames(string type)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (resource, scope) in Resources.Where(r => string.Equals(r.Resource["type"]?.GetValue<string>(), type, StringComparison.OrdinalIgnoreCase)))
        {
            var count = resource["copy"]?["count"]?.GetValue<string>() ?? "";
            foreach (Match parameter in TemplateScope.ParameterReference.Matches(count))
            {
                switch (scope.ResolveParameter(parameter.Groups[1].Value))
                {
                    case JsonArray array: names.UnionWith(array.Select(n => n!.GetValue<string>())); break;
                    case JsonValue value: names.Add(value.GetValue<string>()); break;
                }
            }
        }

        return names;
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "iCrm.Functions.sln"))) return dir.FullName;
        }

        throw new InvalidOperationException($"iCrm.Functions.sln not found above {AppContext.BaseDirectory}");
    }

    private bool IsMissingOrStale(string compiled)
    {
        if (!File.Exists(compiled)) return true;
        var builtAt = File.GetLastWriteTimeUtc(compiled);
        var infra = Path.Combine(RepoRoot, "infra");
        return Directory.GetFiles(infra, "*.bicep*", SearchOption.TopDirectoryOnly)
            .Concat(Directory.GetFiles(Path.Combine(infra, "modules"), "*.bicep"))
            .Any(f => File.GetLastWriteTimeUtc(f) > builtAt);
    }

    private void Compile()
    {
        var start = new ProcessStartInfo("bash", [Path.Combine(RepoRoot, "infra", "lint.sh")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = RepoRoot,
        };
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"infra/lint.sh failed ({process.ExitCode}):\n{stdout}\n{stderr.Result}");
    }
}

/// <summary>A template and the parameter values it was called with (a module's parameters, resolved in its parent).</summary>
public sealed partial class TemplateScope
{
    private readonly JsonObject template;
    private readonly Dictionary<string, JsonNode?> arguments;

    private TemplateScope(JsonObject template, Dictionary<string, JsonNode?> arguments)
    {
        this.template = template;
        this.arguments = arguments;
    }

    public static Regex ParameterReference { get; } = ParameterReferenceRegex();

    public static TemplateScope Root(JsonObject template) => new(template, []);

    /// <summary>Every resource, descending into nested deployments (Bicep modules).</summary>
    public IEnumerable<(JsonObject Resource, TemplateScope Scope)> EnumerateResources()
    {
        var resources = template["resources"] switch
        {
            JsonArray array => array.Select(r => r!.AsObject()),
            JsonObject symbolic => symbolic.Select(r => r.Value!.AsObject()),
            _ => [],
        };

        foreach (var resource in resources)
        {
            yield return (resource, this);
            if (resource["properties"]?["template"] is not JsonObject nested) continue;

            var nestedArguments = new Dictionary<string, JsonNode?>(StringComparer.OrdinalIgnoreCase);
            foreach (var (name, argument) in resource["properties"]?["parameters"]?.AsObject() ?? new JsonObject())
            {
                nestedArguments[name] = argument?["value"] is { } value ? Resolve(value) : null;
            }

            foreach (var inner in new TemplateScope(nested, nestedArguments).EnumerateResources()) yield return inner;
        }
    }

    /// <summary>Resolves literals, variables('x'), parameters('x') and format() over those; anything else is returned as is.</summary>
    public JsonNode? Resolve(JsonNode node)
    {
        if (node is not JsonValue value || !value.TryGetValue<string>(out var text)) return node.DeepClone();

        var reference = SimpleReferenceRegex().Match(text);
        if (reference.Success)
        {
            return reference.Groups[1].Value == "variables"
                ? ResolveVariable(reference.Groups[2].Value)
                : ResolveParameter(reference.Groups[2].Value);
        }

        var format = FormatRegex().Match(text);
        if (format.Success)
        {
            var args = format.Groups[2].Value.Split(", ")
                .Select(a => Resolve(JsonValue.Create($"[{a}]"))?.ToString() ?? a)
                .ToArray<object>();
            return JsonValue.Create(string.Format(System.Globalization.CultureInfo.InvariantCulture, format.Groups[1].Value, args));
        }

        return node.DeepClone();
    }

    public JsonNode? ResolveParameter(string name)
    {
        if (arguments.TryGetValue(name, out var argument)) return argument;
        var defaultValue = template["parameters"]?[name]?["defaultValue"];
        return defaultValue is null ? null : Resolve(defaultValue);
    }

    /// <summary>The parameter a copy loop iterates over.</summary>
    public string LoopParameter(JsonObject resource)
    {
        var count = resource["copy"]?["count"]?.GetValue<string>() ?? "";
        return Assert.Single(ParameterReference.Matches(count)).Groups[1].Value;
    }

    /// <summary>Resolves the last parameters('x') in a child resource name such as format('{0}/{1}', ..., parameters('x')).</summary>
    public string? ResolveLastNameSegment(JsonObject resource)
    {
        var name = resource["name"]!.GetValue<string>();
        var last = ParameterReference.Matches(name).LastOrDefault();
        return last is null ? name.Split('/').Last() : ResolveParameter(last.Groups[1].Value)?.GetValue<string>();
    }

    /// <summary>A variable as the template declares it (unresolved).</summary>
    public JsonNode? Variable(string name) => template["variables"]?[name];

    /// <summary>The template's variable copy loops (<c>[for ...]</c> variables): each with name, count and input.</summary>
    public IEnumerable<JsonObject> VariableLoops() =>
        template["variables"]?["copy"]?.AsArray().Select(l => l!.AsObject()) ?? [];

    /// <summary>The template's variables as JSON text (role ids are kept there).</summary>
    public string VariablesJson() => template["variables"]?.ToJsonString() ?? "";

    private JsonNode? ResolveVariable(string name) =>
        template["variables"]?[name] is { } variable ? Resolve(variable) : null;

    [GeneratedRegex(@"parameters\('([^']+)'\)")]
    private static partial Regex ParameterReferenceRegex();

    [GeneratedRegex(@"^\[(variables|parameters)\('([^']+)'\)\]$")]
    private static partial Regex SimpleReferenceRegex();

    [GeneratedRegex(@"^\[format\('([^']*)', ((?:(?:variables|parameters)\('[^']+'\)(?:, )?)+)\)\]$")]
    private static partial Regex FormatRegex();
}
