"""IAM AddClientIDToOpenIDConnectProvider / RemoveClientIDFromOpenIDConnectProvider.

Gap (moto 5.2.5): neither action is implemented; moto answers HTTP 500
("The add_client_id_to_open_id_connect_provider action has not been
implemented"), so an OIDC provider's audiences cannot be changed in place.

Real AWS (IAM API Reference, AddClientIDToOpenIDConnectProvider and
RemoveClientIDFromOpenIDConnectProvider):
* add appends the client ID (audience) to the provider's list; it is
  idempotent: adding an ID that is already registered is no error and
  changes nothing;
* remove takes the ID out of the list; it is idempotent: removing an ID
  that is not registered is no error;
* the order of the other IDs is kept;
* a missing provider is 404 `NoSuchEntity`; a client ID must be 1-255
  characters (400 `InvalidInput`); at most 100 client IDs per provider
  (409 `LimitExceeded`, quota ClientIdsPerOpenIdConnectProvider).
"""


def apply():
    from moto.core.responses import EmptyResult
    from moto.iam import models, responses
    from moto.iam.exceptions import InvalidInput, LimitExceededException

    def _check(client_id):
        if not client_id or len(client_id) > 255:
            raise InvalidInput(
                f'1 validation error detected: Value "{client_id}" at "clientID" failed to satisfy '
                "constraint: Member must have length less than or equal to 255, "
                "Member must have length greater than or equal to 1"
            )

    def add_client_id_to_open_id_connect_provider(self, arn, client_id):
        _check(client_id)
        provider = self.get_open_id_connect_provider(arn)  # NoSuchEntity if missing
        if client_id in provider.client_id_list:
            return
        if len(provider.client_id_list) >= 100:
            raise LimitExceededException(
                "Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: 100"
            )
        provider.client_id_list = list(provider.client_id_list) + [client_id]

    def remove_client_id_from_open_id_connect_provider(self, arn, client_id):
        _check(client_id)
        provider = self.get_open_id_connect_provider(arn)
        provider.client_id_list = [c for c in provider.client_id_list if c != client_id]

    models.IAMBackend.add_client_id_to_open_id_connect_provider = (
        add_client_id_to_open_id_connect_provider
    )
    models.IAMBackend.remove_client_id_from_open_id_connect_provider = (
        remove_client_id_from_open_id_connect_provider
    )

    def add_response(self):
        self.backend.add_client_id_to_open_id_connect_provider(
            self._get_param("OpenIDConnectProviderArn"), self._get_param("ClientID")
        )
        return EmptyResult()

    def remove_response(self):
        self.backend.remove_client_id_from_open_id_connect_provider(
            self._get_param("OpenIDConnectProviderArn"), self._get_param("ClientID")
        )
        return EmptyResult()

    # The response class dispatches by the snake_case action name.
    responses.IamResponse.add_client_id_to_open_id_connect_provider = add_response
    responses.IamResponse.remove_client_id_from_open_id_connect_provider = remove_response
